"""Hostile and malformed annotations, through the real ``flmprep scan`` command, for all six readers.

Every case builds a tiny tree with ``flmprep synth``, corrupts it, then runs ``scan`` twice:

- ``--on-error fail``: the exact exit status, one error line naming the file and the line (or
  XML element) with what was expected, no traceback;
- ``--on-error skip --json --records``: the exact exit status and, when the scan finishes, input
  records = parsed faces + rejects (+ test mirrors dropped by ``--protocol 300w``), where the
  input records are recounted here from the files themselves, not by the readers.

Nothing of a file outside the root (``SECRET``) may appear in any message or reject.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from flmprep.cli import main
from flmprep.errors import FlmprepError
from flmprep.formats import read_dataset
from flmprep.records import ReadReport
from flmprep.synth import synthesize

SECRET = "SECRET-LINE-from-outside-the-root"
BIG = "9" * 400  # beyond float64: OverflowError in float()
FORTY = "9" * 40  # beyond float32 only
HUGE = "9" * 5000  # beyond int()'s digit limit

CELEBA = "Anno/list_landmarks_celeba.txt"
ALIGNED = "Anno/list_landmarks_align_celeba.txt"
BBOX = "Anno/list_bbox_celeba.txt"
PARTITION = "Eval/list_eval_partition.txt"
TRAIN_XML = "labels_ibug_300W_train.xml"
TEST_XML = "labels_ibug_300W_test.xml"
WFLW_DIR = "WFLW_annotations/list_98pt_rect_attr_train_test"
WFLW_TRAIN = f"{WFLW_DIR}/list_98pt_rect_attr_train.txt"
WFLW_TEST = f"{WFLW_DIR}/list_98pt_rect_attr_test.txt"
PTS = "trainset/image_0001.pts"

Corrupt = Callable[[Path, Path], None]  # (dataset root, a folder outside it)


@dataclass(frozen=True)
class Case:
    """One hostile input: how to corrupt a fresh tree and what ``scan`` must answer."""

    id: str
    dataset: str
    corrupt: Corrupt
    fail_exit: int
    message: str  # regex the error line must match after "flmprep scan: error: "; "" when none
    skip_exit: int
    reasons: dict[str, int] = field(default_factory=dict)  # rejects by reason under skip
    args: tuple[str, ...] = ()
    counters: dict[str, int] = field(default_factory=dict)  # reader counters expected under skip


# --- byte-level corruption helpers ----------------------------------------------------------------


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


def edit_line(rel: str, number: int, change: Callable[[bytes], bytes]) -> Corrupt:
    def corrupt(root: Path, outside: Path) -> None:
        lines = _lines(root / rel)
        lines[number - 1] = change(lines[number - 1])
        (root / rel).write_bytes(b"\n".join(lines))

    return corrupt


def field_to(rel: str, number: int, index: int, value: str) -> Corrupt:
    """Set whitespace field ``index`` of line ``number`` to ``value`` (line ends kept)."""

    def change(line: bytes) -> bytes:
        end = b"\r" if line.endswith(b"\r") else b""
        fields = line.rstrip(b"\r").split()
        fields[index] = value.encode()
        return b" ".join(fields) + end

    return edit_line(rel, number, change)


def replace(rel: str, old: str, new: str | bytes, count: int = 1) -> Corrupt:
    def corrupt(root: Path, outside: Path) -> None:
        data = (root / rel).read_bytes()
        assert old.encode() in data, (rel, old)
        (root / rel).write_bytes(
            data.replace(old.encode(), new if isinstance(new, bytes) else new.encode(), count)
        )

    return corrupt


def resub(rel: str, pattern: bytes, repl: bytes) -> Corrupt:
    """Replace the first match of a regex in the file's bytes."""

    def corrupt(root: Path, outside: Path) -> None:
        data = (root / rel).read_bytes()
        new = re.sub(pattern, repl, data, count=1)
        assert new != data, (rel, pattern)
        (root / rel).write_bytes(new)

    return corrupt


def write(rel: str, data: bytes) -> Corrupt:
    def corrupt(root: Path, outside: Path) -> None:
        (root / rel).write_bytes(data)

    return corrupt


def link_out(rel: str) -> Corrupt:
    """Replace ``rel`` by a symlink to a file outside the root holding SECRET lines."""

    def corrupt(root: Path, outside: Path) -> None:
        target = outside / "secret.txt"
        target.write_text(f"{SECRET}\n" * 300)
        (root / rel).unlink()
        (root / rel).symlink_to(target)

    return corrupt


def folder_out(rel: str) -> Corrupt:
    """Move folder ``rel`` outside the root and leave a symlink to it in its place."""

    def corrupt(root: Path, outside: Path) -> None:
        moved = outside / "moved"
        shutil.move(str(root / rel), moved)
        (root / rel).symlink_to(moved, target_is_directory=True)

    return corrupt


def as_dir(rel: str) -> Corrupt:
    def corrupt(root: Path, outside: Path) -> None:
        (root / rel).unlink(missing_ok=True)
        (root / rel).mkdir()

    return corrupt


def as_fifo(rel: str) -> Corrupt:
    def corrupt(root: Path, outside: Path) -> None:
        (root / rel).unlink(missing_ok=True)
        os.mkfifo(root / rel)

    return corrupt


def dangling(rel: str) -> Corrupt:
    def corrupt(root: Path, outside: Path) -> None:
        (root / rel).unlink()
        (root / rel).symlink_to(root / "no-such-file")

    return corrupt


def cr_only(rel: str) -> Corrupt:
    def corrupt(root: Path, outside: Path) -> None:
        data = (root / rel).read_bytes().replace(b"\r\n", b"\n")
        (root / rel).write_bytes(data.replace(b"\n", b"\r"))

    return corrupt


def prepend(rel: str, data: bytes) -> Corrupt:
    def corrupt(root: Path, outside: Path) -> None:
        (root / rel).write_bytes(data + (root / rel).read_bytes())

    return corrupt


def truncate(rel: str, fraction: float) -> Corrupt:
    def corrupt(root: Path, outside: Path) -> None:
        data = (root / rel).read_bytes()
        (root / rel).write_bytes(data[: int(len(data) * fraction)])

    return corrupt


def grow(rel: str, size: int) -> Corrupt:
    def corrupt(root: Path, outside: Path) -> None:
        with (root / rel).open("ab") as f:
            f.write(b"\n" * size)

    return corrupt


def both(*steps: Corrupt) -> Corrupt:
    def corrupt(root: Path, outside: Path) -> None:
        for step in steps:
            step(root, outside)

    return corrupt


def _celeba_empty(root: Path, outside: Path) -> None:
    header = (root / CELEBA).read_bytes().split(b"\r\n")[1]
    (root / CELEBA).write_bytes(b"0\r\n" + header + b"\r\n")
    bbox_header = (root / BBOX).read_bytes().split(b"\r\n")[1]
    (root / BBOX).write_bytes(b"0\r\n" + bbox_header + b"\r\n")
    (root / PARTITION).write_bytes(b"")


def _wflw_subsets_out(root: Path, outside: Path) -> None:
    subsets = outside / "subsets"
    subsets.mkdir()
    shutil.copy(root / WFLW_TEST, subsets / "list_98pt_test_blur.txt")
    (root / "WFLW_annotations/list_98pt_test").symlink_to(subsets, target_is_directory=True)


def _wflw_image_out(root: Path, outside: Path) -> None:
    name = (root / WFLW_TRAIN).read_text().split("\n")[0].split()[-1]
    image = root / "WFLW_images" / name
    shutil.move(str(image), outside / "img.jpg")
    image.symlink_to(outside / "img.jpg")


def _huge_image_element(root: Path, outside: Path) -> None:
    data = (root / TEST_XML).read_bytes()
    at = data.index(b"<box")
    (root / TEST_XML).write_bytes(data[:at] + b"<foo/>" * (3 << 20) + data[at:])


def _pts_dir_beside_image(root: Path, outside: Path) -> None:
    (root / "trainset/zz.pts").mkdir()
    shutil.copy(root / "trainset/image_0001.jpg", root / "trainset/zz.jpg")


def _utf16_xml(root: Path, outside: Path) -> None:
    (root / TEST_XML).write_bytes((root / TEST_XML).read_text("latin-1").encode("utf-16"))


def _helen_copy_annotation(root: Path, outside: Path) -> None:
    shutil.copy(root / "annotation/1.txt", root / "annotation/4.txt")


NO_IMAGES = b"<?xml version='1.0'?>\n<dataset>\n<images>\n</images>\n</dataset>"

# --- the cases ------------------------------------------------------------------------------------

CASES = [
    # CelebA in the wild
    Case(
        "celeba-landmarks-symlink-out",
        "celeba",
        link_out(CELEBA),
        2,
        r"list_landmarks_celeba\.txt: file: expected an annotation file inside the dataset root, "
        r"found a symlink that resolves outside it",
        2,
    ),
    Case(
        "celeba-bbox-is-a-dir",
        "celeba",
        as_dir(BBOX),
        2,
        r"list_bbox_celeba\.txt: file: expected a regular annotation file, found a directory",
        2,
    ),
    Case(
        "celeba-partition-fifo",
        "celeba",
        as_fifo(PARTITION),
        2,
        r"list_eval_partition\.txt: file: expected a regular annotation file, found a named pipe",
        2,
    ),
    Case(
        "celeba-partition-dangling-link",
        "celeba",
        dangling(PARTITION),
        2,
        r"list_eval_partition\.txt: file: expected an existing annotation file, found a dangling symlink",
        2,
    ),
    Case(
        "celeba-coordinate-400-digits",
        "celeba",
        field_to(CELEBA, 3, 1, BIG),
        2,
        r"list_landmarks_celeba\.txt: line 3: expected finite landmark coordinates .*found point 0 = \(9+… "
        r"\(\d+ characters\)",
        0,
        {"nonfinite_landmarks": 1},
    ),
    Case(
        "celeba-coordinate-40-digits",
        "celeba",
        field_to(CELEBA, 4, 4, FORTY),
        2,
        r"list_landmarks_celeba\.txt: line 4: expected finite landmark coordinates "
        r"\(within float32's range\), found point 1",
        0,
        {"nonfinite_landmarks": 1},
    ),
    Case(
        "celeba-coordinate-5000-digits",
        "celeba",
        field_to(CELEBA, 3, 2, HUGE),
        2,
        r"line 3: expected an integer coordinate, found '9+… \(5002 characters\)",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "celeba-box-400-digits",
        "celeba",
        field_to(BBOX, 4, 1, BIG),
        2,
        r"list_bbox_celeba\.txt: line 4: expected box corners within float32's range",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "celeba-box-negative-width",
        "celeba",
        field_to(BBOX, 3, 3, "-5"),
        2,
        r"list_bbox_celeba\.txt: line 3: expected a box width and height >= 1, found -5 x",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "celeba-count-5000-digits",
        "celeba",
        edit_line(CELEBA, 1, lambda b: HUGE.encode() + b"\r"),
        2,
        r"list_landmarks_celeba\.txt: line 1: expected the record count on line 1, found '9+…",
        2,
    ),
    Case(
        "celeba-landmarks-empty",
        "celeba",
        write(CELEBA, b""),
        2,
        r"list_landmarks_celeba\.txt: line 1: expected the record count on line 1, found ''",
        2,
    ),
    Case(
        "celeba-no-records",
        "celeba",
        _celeba_empty,
        2,
        r"list_landmarks_celeba\.txt: file: expected at least one record, found none",
        0,
        {"bad_annotation": 1},
    ),
    Case("celeba-bom-accepted", "celeba", prepend(CELEBA, b"\xef\xbb\xbf"), 0, "", 0),
    Case(
        "celeba-bom-mid-file",
        "celeba",
        edit_line(PARTITION, 2, lambda b: b"\xef\xbb\xbf" + b),
        2,
        r"list_eval_partition\.txt: line 2: expected image id 000002\.jpg \(ids run from 000001\), "
        r"found '\\ufeff000002\.jpg'",
        2,
    ),
    Case(
        "celeba-nul-byte",
        "celeba",
        field_to(CELEBA, 4, 3, "1\x0009"),
        2,
        r"line 4: expected an integer coordinate, found '1\\x0009'",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "celeba-cr-only-line-ends",
        "celeba",
        cr_only(PARTITION),
        2,
        r"list_eval_partition\.txt: line 1: expected LF or CRLF line ends, found a lone CR",
        2,
    ),
    Case(
        "celeba-not-utf8",
        "celeba",
        edit_line(BBOX, 3, lambda b: b[:3] + b"\xff" + b[3:]),
        2,
        r"list_bbox_celeba\.txt: line 3: expected UTF-8 text, found undecodable byte 0xff at byte 4",
        2,
    ),
    Case(
        "celeba-huge-line",
        "celeba",
        edit_line(CELEBA, 3, lambda b: b" " * 100_000 + b),
        2,
        r"list_landmarks_celeba\.txt: line 3: expected a line of at most 65536 bytes",
        2,
    ),
    Case(
        "celeba-partition-value",
        "celeba",
        field_to(PARTITION, 2, 1, "7"),
        2,
        r"list_eval_partition\.txt: line 2: expected partition 0, 1 or 2, found '7'",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "celeba-duplicated-id",
        "celeba",
        field_to(CELEBA, 4, 0, "000001.jpg"),
        2,
        r"list_landmarks_celeba\.txt: line 4: expected image id 000002\.jpg",
        2,
    ),
    # CelebA aligned
    Case(
        "aligned-coordinate-40-digits",
        "celeba-aligned",
        field_to(ALIGNED, 5, 10, FORTY),
        2,
        r"list_landmarks_align_celeba\.txt: line 5: expected finite landmark coordinates",
        0,
        {"nonfinite_landmarks": 1},
    ),
    Case(
        "aligned-anno-folder-out",
        "celeba-aligned",
        folder_out("Anno"),
        2,
        r"Anno/list_landmarks_align_celeba\.txt: file: expected an annotation file inside the dataset root",
        2,
    ),
    Case(
        "aligned-extra-field",
        "celeba-aligned",
        edit_line(ALIGNED, 3, lambda b: b.rstrip(b"\r") + b" 12\r"),
        2,
        r"list_landmarks_align_celeba\.txt: line 3: expected 11 fields, found 12",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "aligned-blank-line-inside",
        "celeba-aligned",
        edit_line(ALIGNED, 4, lambda b: b"\r\n" + b),
        2,
        r"list_landmarks_align_celeba\.txt: line 4: expected a record \(blank lines only at the end\)",
        2,
    ),
    # 300W (dlib XML)
    Case(
        "300w-undeclared-entity",
        "300w",
        replace(TRAIN_XML, "<image file=", "<image a='&bogus;' file="),
        2,
        r"labels_ibug_300W_train\.xml: line 8: expected well-formed XML, found Entity 'bogus' not defined",
        2,
    ),
    Case(
        "300w-doctype",
        "300w",
        replace(TEST_XML, "<dataset>", "<!DOCTYPE d [<!ENTITY x 'y'>]>\n<dataset>"),
        2,
        r"labels_ibug_300W_test\.xml: line 3: expected no DOCTYPE or DTD",
        2,
    ),
    Case(
        "300w-part-400-digits",
        "300w",
        replace(TRAIN_XML, "x='", f"x='{BIG}"),
        2,
        r"labels_ibug_300W_train\.xml: line 9 <box> 0 of image '[^']+': expected finite landmark coordinates",
        0,
        {"nonfinite_landmarks": 1},
    ),
    Case(
        "300w-part-40-digits",
        "300w",
        replace(TEST_XML, "y='", f"y='{FORTY}"),
        2,
        r"labels_ibug_300W_test\.xml: line 9 <box> 0 of image .*: expected finite landmark coordinates",
        0,
        {"nonfinite_landmarks": 1},
    ),
    Case(
        "300w-part-name-5000-digits",
        "300w",
        replace(TRAIN_XML, "name='05'", f"name='{HUGE}'"),
        2,
        r"labels_ibug_300W_train\.xml: line 15 <part name='9+… \(\d+ characters\): "
        r"expected a part name 00…67, found '9+… \(5002 characters\)",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "300w-part-name-superscript-digit",
        "300w",
        replace(TRAIN_XML, "name='03'", "name='0\xb2'".encode("latin-1")),
        2,
        r"line 13 <part name='0²'> in line 9 <box> 0 .*: expected a part name 00…67",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "300w-box-400-digits",
        "300w",
        replace(TRAIN_XML, "top='", f"top='{BIG}"),
        2,
        r"labels_ibug_300W_train\.xml: line 9 <box> 0 of image .*: "
        r"expected box corners within float32's range",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "300w-box-zero-width",
        "300w",
        resub(TEST_XML, rb"(<box [^>]*) width='", rb"\1 width='0' w='"),
        2,
        r"labels_ibug_300W_test\.xml: line 9 <box> 0 .*: expected a box width and height >= 1, found 0 x",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "300w-image-width-huge",
        "300w",
        replace(TRAIN_XML, " width='", " width='99999999999' w='"),
        2,
        r"line 8 <image width='99999999999'>: expected an image width from 1 to 2147483647",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "300w-xml-empty",
        "300w",
        write(TEST_XML, b""),
        2,
        r"labels_ibug_300W_test\.xml: line 1: expected an XML document, found no root element",
        2,
    ),
    Case(
        "300w-no-images",
        "300w",
        write(TEST_XML, NO_IMAGES),
        2,
        r"labels_ibug_300W_test\.xml: file: expected at least one <box>, found none",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "300w-xml-symlink-out",
        "300w",
        link_out(TRAIN_XML),
        2,
        r"labels_ibug_300W_train\.xml: file: expected an annotation file inside the dataset root",
        2,
    ),
    Case(
        "300w-xml-is-a-dir",
        "300w",
        as_dir(TEST_XML),
        2,
        r"labels_ibug_300W_test\.xml: file: expected a regular annotation file, found a directory",
        2,
    ),
    Case(
        "300w-truncated",
        "300w",
        truncate(TRAIN_XML, 0.5),
        2,
        r"labels_ibug_300W_train\.xml: line \d+: expected well-formed XML, found ",
        2,
    ),
    Case(
        "300w-image-path-escapes",
        "300w",
        replace(TEST_XML, "file='", "file='../../"),
        2,
        r"labels_ibug_300W_test\.xml: line 8 <image file='\.\./\.\./[^']+'>: expected an image path inside "
        r"the dataset root",
        0,
        {"path_outside_root": 1},
    ),
    Case(
        "300w-nul-byte",
        "300w",
        replace(TRAIN_XML, "<box", b"<b\x00ox"),
        2,
        r"labels_ibug_300W_train\.xml: line 9: expected well-formed XML, found ",
        2,
    ),
    Case(
        "300w-image-element-too-big",
        "300w",
        _huge_image_element,
        2,
        r"labels_ibug_300W_test\.xml: byte \d+: expected an <image> element of at most 16777216 bytes",
        2,
    ),
    Case(
        "300w-duplicate-attribute",
        "300w",
        replace(TRAIN_XML, "<box top='", "<box top='1' top='"),
        2,
        r"labels_ibug_300W_train\.xml: line 9: expected well-formed XML, found Attribute top redefined",
        2,
    ),
    Case(
        "300w-protocol-folder-unknown",
        "300w",
        replace(TRAIN_XML, "file='", "file='extra/"),
        2,
        r"labels_ibug_300W_train\.xml: line 8 <image file='extra/[^']+'>: expected an image in one of 300W's "
        r"folders afw, helen/trainset",
        0,
        {"split_missing": 1},
        ("--protocol", "300w"),
    ),
    Case(
        "300w-utf16",
        "300w",
        _utf16_xml,
        2,
        r"labels_ibug_300W_test\.xml: line 1: expected XML in an ASCII-compatible encoding .*found a UTF-16 "
        r"byte-order mark",
        2,
    ),
    Case(
        "300w-nesting-too-deep",
        "300w",
        replace(TEST_XML, "<images>", "<images>" + "<a>" * 5000 + "</a>" * 5000),
        2,
        r"labels_ibug_300W_test\.xml: line 7: expected well-formed XML, "
        r"found Excessive depth in document: 256",
        2,
    ),
    Case(
        "300w-image-twice",
        "300w",
        resub(TRAIN_XML, rb"(?s)(  <image .*?</image>\n)", rb"\1\1"),
        2,
        r"labels_ibug_300W_train\.xml: line \d+: expected a record key not used before, found "
        r"'300w_[^']+_f0', already used by .*labels_ibug_300W_train\.xml:line 9",
        2,
    ),
    # WFLW
    Case(
        "wflw-empty-list",
        "wflw",
        write(WFLW_TEST, b""),
        2,
        r"list_98pt_rect_attr_test\.txt: file: expected at least one record, found none",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "wflw-blank-list",
        "wflw",
        write(WFLW_TEST, b"\n\n  \n"),
        2,
        r"list_98pt_rect_attr_test\.txt: file: expected at least one record",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "wflw-rect-400-digits",
        "wflw",
        field_to(WFLW_TRAIN, 1, 198, BIG),
        2,
        r"list_98pt_rect_attr_train\.txt: line 1: expected box corners within float32's range",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "wflw-coordinate-1e39",
        "wflw",
        field_to(WFLW_TRAIN, 2, 7, "1e39"),
        2,
        r"list_98pt_rect_attr_train\.txt: line 2: expected finite landmark coordinates \(within float32's "
        r"range\), found point 3 = \(.*, 1e\+39\)",
        0,
        {"nonfinite_landmarks": 1},
    ),
    Case(
        "wflw-list-symlink-out",
        "wflw",
        link_out(WFLW_TRAIN),
        2,
        r"list_98pt_rect_attr_train\.txt: file: expected an annotation file inside the dataset root",
        2,
    ),
    Case(
        "wflw-list-is-a-dir",
        "wflw",
        as_dir(WFLW_TRAIN),
        2,
        r"list_98pt_rect_attr_train\.txt: file: expected a regular annotation file, found a directory",
        2,
    ),
    Case(
        "wflw-subset-folder-out",
        "wflw",
        _wflw_subsets_out,
        2,
        r"WFLW_annotations/list_98pt_test: dataset root: expected a folder of WFLW lists inside the dataset "
        r"root, found a symlink that resolves outside it",
        2,
    ),
    Case(
        "wflw-cr-inside-line",
        "wflw",
        edit_line(WFLW_TRAIN, 2, lambda b: b[:30] + b"\r" + b[30:]),
        2,
        r"list_98pt_rect_attr_train\.txt: line 2: expected LF or CRLF line ends, found a lone CR at byte 31",
        2,
    ),
    Case(
        "wflw-image-symlink-out",
        "wflw",
        _wflw_image_out,
        2,
        r"list_98pt_rect_attr_train\.txt: line 1: expected an image inside the dataset root, found '[^']+', "
        r"a symlink that resolves outside it",
        0,
        {"path_outside_root": 1},
    ),
    Case(
        "wflw-huge-line",
        "wflw",
        edit_line(WFLW_TEST, 1, lambda b: b"1.0 " * 40_000 + b),
        2,
        r"list_98pt_rect_attr_test\.txt: line 1: expected a line of at most 65536 bytes",
        2,
    ),
    Case(
        "wflw-flag-huge",
        "wflw",
        field_to(WFLW_TRAIN, 1, 201, BIG),
        2,
        r"line 1: expected attribute flags 0 or 1, found expression=9+…",
        0,
        {"bad_annotation": 1},
    ),
    # HELEN
    Case(
        "helen-annotation-symlink-out",
        "helen",
        link_out("annotation/3.txt"),
        2,
        r"annotation/3\.txt: file: expected an annotation file inside the dataset root, found a symlink that "
        r"resolves outside it",
        0,
        {"path_outside_root": 1},
    ),
    Case(
        "helen-annotation-is-a-dir",
        "helen",
        as_dir("annotation/2.txt"),
        2,
        r"annotation/2\.txt: file: expected a regular annotation file, found a directory",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "helen-annotation-fifo",
        "helen",
        as_fifo("annotation/1.txt"),
        2,
        r"annotation/1\.txt: file: expected a regular annotation file, found a named pipe",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "helen-annotation-empty",
        "helen",
        write("annotation/2.txt", b""),
        2,
        r"annotation/2\.txt: line 1: expected the image name on line 1, found ''",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "helen-annotation-too-big",
        "helen",
        grow("annotation/3.txt", 2 << 20),
        2,
        r"annotation/3\.txt: file: expected an annotation file of at most 1048576 bytes",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "helen-coordinate-400-digits",
        "helen",
        edit_line("annotation/1.txt", 3, lambda b: BIG.encode() + b" , 1\r"),
        2,
        r"annotation/1\.txt: line 3: expected finite landmark coordinates .*found point 1 = \(inf, 1\.0\)",
        0,
        {"nonfinite_landmarks": 1},
    ),
    Case(
        "helen-trainnames-empty",
        "helen",
        write("trainnames.txt", b""),
        2,
        r"trainnames\.txt: file: expected at least one image name, found none",
        2,
    ),
    Case(
        "helen-name-in-both-lists",
        "helen",
        write("testnames.txt", b"100007919_2\n"),
        2,
        r"testnames\.txt: line 1: expected each image name in one split file once",
        2,
    ),
    Case(
        "helen-annotation-folder-out",
        "helen",
        folder_out("annotation"),
        2,
        r"annotation: dataset root: expected a folder of annotation/\*\.txt files inside the dataset root",
        2,
    ),
    Case(
        "helen-image-folder-out",
        "helen",
        folder_out("helen_1"),
        2,
        r"annotation/\d\.txt: line 1: expected exactly one image named 1000\d+_\d\.jpg "
        r"below the dataset root, found none",
        0,
        {"missing_image": 2},
        counters={"skipped_folder_links": 1},
    ),
    Case(
        "helen-not-utf8-name",
        "helen",
        write("annotation/2.txt", b"\xc3\x28bad\n1 , 2\n"),
        2,
        r"annotation/2\.txt: line 1: expected UTF-8 text, found undecodable byte 0xc3 at byte 1",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "helen-two-files-one-image",
        "helen",
        _helen_copy_annotation,
        2,
        r"annotation/4\.txt: line 1: expected a record key not used before, found 'helen_\d+_\d_f0', "
        r"already used by .*annotation/1\.txt:1",
        2,
    ),
    # iBUG .pts
    Case(
        "pts-npoints-5000-digits",
        "pts",
        replace(PTS, "n_points:  68", f"n_points: {HUGE}"),
        2,
        r"image_0001\.pts: line 2: expected 'n_points: N', found 'n_points: 9+… \(5012 characters\)",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "pts-symlink-out",
        "pts",
        link_out(PTS),
        2,
        r"trainset/image_0001\.pts: file: expected an annotation file inside the dataset root",
        0,
        {"path_outside_root": 1},
    ),
    Case(
        "pts-is-a-dir",
        "pts",
        _pts_dir_beside_image,
        2,
        r"trainset/zz\.pts: file: expected a regular annotation file, found a directory",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "pts-fifo",
        "pts",
        as_fifo(PTS),
        2,
        r"image_0001\.pts: file: expected a regular annotation file, found a named pipe",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "pts-coordinate-1e39",
        "pts",
        edit_line(PTS, 5, lambda b: b"1e39 " + b.split()[1]),
        2,
        r"image_0001\.pts: line 5: expected finite landmark coordinates .*found point 1 = \(1e\+39, ",
        0,
        {"nonfinite_landmarks": 1},
    ),
    Case(
        "pts-too-big",
        "pts",
        grow(PTS, 2 << 20),
        2,
        r"image_0001\.pts: file: expected an annotation file of at most 1048576 bytes",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "pts-not-utf8",
        "pts",
        edit_line(PTS, 7, lambda b: b"\xfe" + b),
        2,
        r"image_0001\.pts: line 7: expected UTF-8 text, found undecodable byte 0xfe",
        0,
        {"bad_annotation": 1},
    ),
    Case("pts-bom-accepted", "pts", prepend(PTS, b"\xef\xbb\xbf"), 0, "", 0),
    Case(
        "pts-cr-only",
        "pts",
        cr_only(PTS),
        2,
        r"image_0001\.pts: line 1: expected LF or CRLF line ends",
        0,
        {"bad_annotation": 1},
    ),
    Case(
        "pts-folder-symlink-not-followed",
        "pts",
        folder_out("testset"),
        0,
        "",
        0,
        counters={"skipped_folder_links": 1},
    ),
    Case(
        "pts-truncated",
        "pts",
        truncate(PTS, 0.5),
        2,
        r"image_0001\.pts: line \d+: expected (68 points|2 numbers)",
        0,
        {"bad_annotation": 1},
    ),
]

# --- running ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("hostile-templates")
    return {
        ds: synthesize(ds, base / ds, n=3, seed=1).root
        for ds in ("celeba", "celeba-aligned", "300w", "wflw", "helen", "pts")
    }


def _scan(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["scan", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _input_records(dataset: str, root: Path) -> int:
    """The records the files hold, counted from the files (a file with none counts as one)."""
    if dataset.startswith("celeba"):
        path = root / (CELEBA if dataset == "celeba" else ALIGNED)
        return max(sum(1 for line in _lines(path)[2:] if line.strip()), 1)
    if dataset == "wflw":
        lists = [
            root / WFLW_TRAIN,
            root / WFLW_TEST,
            *sorted((root / "WFLW_annotations").rglob("list_98pt_test*")),
        ]
        return sum(max(sum(1 for line in _lines(p) if line.strip()), 1) for p in lists if p.exists())
    if dataset == "300w":
        total = 0
        for name in (TRAIN_XML, TEST_XML):
            boxes = re.findall(rb"<box\b[^>]*>", (root / name).read_bytes())
            total += max(sum(1 for b in boxes if b"ignore='1'" not in b), 1)
        return total
    if dataset == "helen":
        return len(os.listdir(root / "annotation"))
    return sum(1 for _, _, files in os.walk(root) for f in files if f.endswith(".pts")) + sum(
        1 for folder, dirs, _ in os.walk(root) for d in dirs if d.endswith(".pts")
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, templates: dict[str, Path], tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    shutil.copytree(templates[case.dataset], root, symlinks=True)
    outside.mkdir()
    case.corrupt(root, outside)

    code, out, err = _scan(case.dataset, str(root), "--on-error", "fail", *case.args)
    assert code == case.fail_exit, (out, err)
    assert "Traceback" not in out + err and SECRET not in out + err
    if case.message:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("flmprep scan: error: "), err
        assert re.search(case.message, lines[0]), lines[0]
        assert str(root) in lines[0]  # names the file by its path
    else:
        assert err == "" or "skipped" in err or "symlinked folder" in err, err

    records = tmp_path / "records.jsonl"
    code, out, err = _scan(case.dataset, str(root), "--json", "--records", str(records), *case.args)
    assert code == case.skip_exit, (out, err)
    assert "Traceback" not in out + err and SECRET not in out + err
    if code != 0:
        assert len(err.splitlines()) == 1 and not records.exists()
        return
    summary = json.loads(out)
    total = summary["total"]
    assert total["rejects"] == case.reasons
    written = len(records.read_text().splitlines())
    assert written == total["faces"]
    assert case.counters.items() <= summary["counters"].items()
    dropped = summary["counters"].get("dropped_mirrors", 0)
    assert written + sum(total["rejects"].values()) + dropped == _input_records(case.dataset, root)
    report = ReadReport()
    protocol = case.args[1] if case.args else None
    list(read_dataset(case.dataset, root, on_error="skip", report=report, protocol=protocol))
    assert all(SECRET not in r.message and "\n" not in r.message for r in report.rejects)
    assert all(len(r.message) < 1200 for r in report.rejects)


def test_there_are_enough_cases_for_every_reader() -> None:
    per_dataset = {
        ds: sum(1 for c in CASES if c.dataset == ds)
        for ds in ("celeba", "celeba-aligned", "300w", "wflw", "helen", "pts")
    }
    assert len(CASES) >= 50 and min(per_dataset.values()) >= 4, per_dataset
    assert len({c.id for c in CASES}) == len(CASES)


def test_read_errors_are_flmprep_errors(tmp_path: Path, templates: dict[str, Path]) -> None:
    """The library raises the documented type (the CLI turns it into the line above)."""
    root = tmp_path / "root"
    shutil.copytree(templates["wflw"], root)
    (root / WFLW_TEST).write_bytes(b"")
    with pytest.raises(FlmprepError, match="expected at least one record"):
        list(read_dataset("wflw", root))
