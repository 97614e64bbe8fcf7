"""CelebA readers on roots built from the real excerpts, and on malformed variants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flmprep.errors import AnnotationError
from flmprep.formats import read_dataset
from flmprep.records import FaceRecord, ReadReport

EXCERPTS = Path(__file__).parent / "data" / "real-excerpts"
ALIGN = EXCERPTS / "celeba_list_landmarks_align_celeba.head.quoted_in_blog.txt"
WILD = EXCERPTS / "celeba_list_landmarks_celeba.head.quoted_in_doc.txt"
BBOX = EXCERPTS / "celeba_list_bbox_celeba.head.quoted_in_blog.txt"
PARTITION = EXCERPTS / "celeba_list_eval_partition.head.crlf_reconstructed.txt"


def _cut(source: Path, n: int, header: bool, crlf: bool, count: int | None = None) -> bytes:
    """The first ``n`` records of an excerpt; the count line is set to ``count`` (default n)."""
    lines = source.read_bytes().replace(b"\r\n", b"\n").split(b"\n")
    first = [str(n if count is None else count).encode(), lines[1]] if header else []
    lines = first + lines[2 : 2 + n] if header else lines[:n]
    end = b"\r\n" if crlf else b"\n"
    return end.join(lines) + end


def _root(tmp: Path, wild: bool, n: int = 3, crlf: bool = True, **edits: bytes) -> Path:
    """A CelebA root made of the first ``n`` real records; ``edits`` replace whole files."""
    (tmp / "Anno").mkdir(parents=True, exist_ok=True)
    (tmp / "Eval").mkdir(exist_ok=True)
    files = {"Eval/list_eval_partition.txt": _cut(PARTITION, n, False, crlf)}
    if wild:
        files["Anno/list_landmarks_celeba.txt"] = _cut(WILD, n, True, crlf)
        files["Anno/list_bbox_celeba.txt"] = _cut(BBOX, n, True, crlf)
    else:
        files["Anno/list_landmarks_align_celeba.txt"] = _cut(ALIGN, n, True, crlf)
    for name, data in files.items():
        (tmp / name).write_bytes(edits.get(Path(name).stem, data))
    return tmp


def _read(root: Path, dataset: str, on_error: str = "fail") -> tuple[list[FaceRecord], ReadReport]:
    report = ReadReport()
    return list(read_dataset(dataset, root, on_error=on_error, report=report)), report  # type: ignore[arg-type]


def test_aligned_real_records(tmp_path: Path) -> None:
    records, report = _read(_root(tmp_path, wild=False, n=8), "celeba-aligned")
    assert len(records) == 8 and not report.rejects
    first = records[0]
    assert (first.key, first.image, first.split, first.face) == (
        "celeba-aligned_000001_f0",
        "img_align_celeba/000001.jpg",
        "train",
        0,
    )
    assert first.landmarks.dtype == np.float32
    assert first.landmarks.tolist() == [[69, 109], [106, 113], [77, 142], [73, 152], [108, 154]]
    assert first.bbox is None and first.scheme == "celeba5"
    assert [r.key for r in records][-1] == "celeba-aligned_000008_f0"


def test_png_release_is_used_when_only_it_exists(tmp_path: Path) -> None:
    root = _root(tmp_path, wild=False)
    (root / "img_align_celeba_png").mkdir()
    records, _ = _read(root, "celeba-aligned")
    assert records[0].image == "img_align_celeba_png/000001.png"


def test_in_the_wild_real_records_with_box(tmp_path: Path) -> None:
    records, _ = _read(_root(tmp_path, wild=True), "celeba")
    assert [r.key for r in records] == ["celeba_000001_f0", "celeba_000002_f0", "celeba_000003_f0"]
    assert records[0].image == "img_celeba/000001.jpg"
    assert records[0].landmarks[0].tolist() == [165.0, 184.0]
    assert records[0].bbox == (95.0, 71.0, 95.0 + 226 - 1, 71.0 + 313 - 1)
    assert records[2].bbox == (216.0, 59.0, 306.0, 184.0)
    assert records[0].origin.endswith("list_landmarks_celeba.txt:3")


def test_crlf_and_lf_give_the_same_records(tmp_path: Path) -> None:
    crlf, _ = _read(_root(tmp_path / "a", wild=True, crlf=True), "celeba")
    lf, _ = _read(_root(tmp_path / "b", wild=True, crlf=False), "celeba")
    assert [r.to_json() for r in crlf] == [r.to_json() for r in lf]


def test_splits_come_from_the_partition_file(tmp_path: Path) -> None:
    partition = b"000001.jpg 0\r\n000002.jpg 1\r\n000003.jpg 2\r\n"
    records, _ = _read(_root(tmp_path, wild=True, list_eval_partition=partition), "celeba")
    assert [r.split for r in records] == ["train", "val", "test"]


def test_real_count_line_must_match_the_records(tmp_path: Path) -> None:
    root = _root(tmp_path, wild=False, n=8, list_landmarks_align_celeba=ALIGN.read_bytes())
    (root / "Eval" / "list_eval_partition.txt").write_bytes(_cut(PARTITION, 8, False, True))
    with pytest.raises(
        AnnotationError,
        match=r"align_celeba.txt: line 1: expected a count equal to the 8 records"
        r" that follow, found 202599",
    ):
        _read(root, "celeba-aligned", "skip")


def test_more_records_than_announced_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(
        AnnotationError, match=r"line 5: expected no more than the 2 records line 1 announces"
    ):
        _read(_root(tmp_path, wild=True, list_landmarks_celeba=_cut(WILD, 3, True, True, count=2)), "celeba")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y", "line 2: expected the column names"),
        (
            b"image_id lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y "
            b"rightmouth_x rightmouth_y",
            "line 2: expected the column names",
        ),
    ],
)
def test_wrong_header_is_an_error(tmp_path: Path, line: bytes, message: str) -> None:
    data = _cut(WILD, 3, True, True).split(b"\r\n")
    data[1] = line
    with pytest.raises(AnnotationError, match=message):
        _read(_root(tmp_path, wild=True, list_landmarks_celeba=b"\r\n".join(data)), "celeba", "skip")


def _edit_record(source: Path, index: int, new: bytes) -> bytes:
    data = _cut(source, 3, True, True).split(b"\r\n")
    data[2 + index] = new
    return b"\r\n".join(data)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (b"000002.jpg 140  204  220", r"line 4: expected 11 fields, found 4"),
        (
            b"000002.jpg 140  204  220  204  168  254  146  289  226  2x9",
            r"line 4: expected an integer coordinate, "
            r"found '2x9'",
        ),
        (b"000002.jpg 140  204  220  204  168  254  146  289  226  28.5", r"found '28.5'"),
    ],
    ids=["truncated", "non-numeric", "not-integer"],
)
def test_malformed_record_fails_or_is_rejected(tmp_path: Path, record: bytes, message: str) -> None:
    root = _root(tmp_path, wild=True, list_landmarks_celeba=_edit_record(WILD, 1, record))
    with pytest.raises(AnnotationError, match=message):
        _read(root, "celeba")
    records, report = _read(root, "celeba", "skip")
    assert [r.key for r in records] == ["celeba_000001_f0", "celeba_000003_f0"]
    (reject,) = report.rejects
    assert (reject.key, reject.reason, reject.split) == ("celeba_000002_f0", "bad_annotation", "train")
    assert reject.origin.endswith("list_landmarks_celeba.txt:4")


def test_bad_box_and_bad_partition_are_rejects(tmp_path: Path) -> None:
    bbox = _edit_record(BBOX, 0, b"000001.jpg    95  71   0 313")
    partition = b"000001.jpg 0\r\n000002.jpg 7\r\n000003.jpg 2\r\n"
    root = _root(tmp_path, wild=True, list_bbox_celeba=bbox, list_eval_partition=partition)
    records, report = _read(root, "celeba", "skip")
    assert [r.key for r in records] == ["celeba_000003_f0"]
    assert "expected a box width and height >= 1, found 0 x 313" in report.rejects[0].message
    assert "expected partition 0, 1 or 2, found '7'" in report.rejects[1].message


def test_id_gap_is_fatal_even_when_skipping(tmp_path: Path) -> None:
    root = _root(tmp_path, wild=True, list_bbox_celeba=_edit_record(BBOX, 1, b"000003.jpg 1 2 3 4"))
    with pytest.raises(AnnotationError, match=r"bbox_celeba.txt: line 4: expected image id 000002.jpg"):
        _read(root, "celeba", "skip")


def test_files_of_different_length_are_an_error(tmp_path: Path) -> None:
    root = _root(tmp_path, wild=True, list_eval_partition=b"000001.jpg 0\r\n000002.jpg 0\r\n")
    with pytest.raises(
        AnnotationError, match=r"partition.txt: end of file: expected a record for 000003.jpg"
    ):
        _read(root, "celeba")


def test_blank_line_inside_a_file_is_an_error(tmp_path: Path) -> None:
    partition = b"000001.jpg 0\r\n\r\n000002.jpg 0\r\n000003.jpg 0\r\n\r\n"
    with pytest.raises(AnnotationError, match=r"line 2: expected a record \(blank lines only at the end\)"):
        _read(_root(tmp_path, wild=True, list_eval_partition=partition), "celeba")


def test_missing_file_is_named(tmp_path: Path) -> None:
    root = _root(tmp_path, wild=True)
    (root / "Anno" / "list_bbox_celeba.txt").unlink()
    with pytest.raises(
        AnnotationError, match=r"list_bbox_celeba.txt: file: expected an existing annotation file"
    ):
        _read(root, "celeba")
