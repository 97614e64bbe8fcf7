"""What every reader shares for files: the root guard (open, folder, walk), bounded line
streaming, finiteness after the float32 cast and bounded messages."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flmprep.errors import AnnotationError, quoted
from flmprep.formats import _text
from flmprep.formats._common import box_values, landmark_array, stored_floats
from flmprep.formats._paths import PathGuard
from flmprep.formats._text import MAX_LINE_BYTES, iter_content_lines, iter_lines


def _lines(root: Path, data: bytes) -> list[tuple[int, str]]:
    (root / "a.txt").write_bytes(data)
    return list(iter_lines(PathGuard(root), root / "a.txt"))


def test_lf_crlf_bom_and_a_missing_final_newline(tmp_path: Path) -> None:
    assert _lines(tmp_path, b"\xef\xbb\xbfa\r\nb\nc") == [(1, "a"), (2, "b"), (3, "c")]
    # a BOM after line 1 is text: the record then fails on its content, naming it
    assert _lines(tmp_path, b"ok\n\xef\xbb\xbfz\n")[1] == (2, "\ufeffz")
    assert _lines(tmp_path, b"") == []
    assert _lines(tmp_path, b"x\n\n") == [(1, "x"), (2, "")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"a\rb\rc\r", r"line 1: expected LF or CRLF line ends, found a lone CR at byte 2"),
        (b"ok\nx\ry\n", r"line 2: expected LF or CRLF line ends"),
        (b"ok\n\xff\n", r"line 2: expected UTF-8 text, found undecodable byte 0xff at byte 1"),
        (
            b"ok\nab" + b"x" * MAX_LINE_BYTES + b"\n",
            rf"line 2: expected a line of at most {MAX_LINE_BYTES} bytes",
        ),
        (b"x" * (3 * MAX_LINE_BYTES), rf"line 1: expected a line of at most {MAX_LINE_BYTES} bytes"),
    ],
    ids=["cr-only", "lone-cr", "not-utf8", "long-line", "no-newline-at-all"],
)
def test_bad_text(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(AnnotationError, match=message):
        _lines(tmp_path, data)


@settings(max_examples=80, deadline=None)
@given(
    lines=st.lists(
        st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"")), max_size=12
    ),
    crlf=st.booleans(),
    final=st.booleans(),
    chunk=st.integers(1, 9),
)
def test_chunked_reading_gives_the_lines_whatever_the_chunk(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], crlf: bool, final: bool, chunk: int
) -> None:
    lines = [b.decode("utf-8", "ignore").encode() for b in lines]
    end = b"\r\n" if crlf else b"\n"
    data = end.join(lines) + (end if final and lines else b"")
    root = tmp_path_factory.mktemp("chunks")
    old = _text._CHUNK
    _text._CHUNK = chunk
    try:
        got = _lines(root, data)
    finally:
        _text._CHUNK = old
    want = [line.decode() for line in lines]
    if lines and not final and want[-1] == "":
        want = want[:-1]  # an empty last line without its line end is no line
    if want and want[0].startswith("\ufeff"):
        want[0] = want[0][1:]
    assert [t for _, t in got] == want and [n for n, _ in got] == list(range(1, len(got) + 1))


def test_blank_lines_only_at_the_end(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"a\n\nb\n")
    with pytest.raises(AnnotationError, match="line 2: expected a record"):
        list(iter_content_lines(PathGuard(tmp_path), tmp_path / "a.txt"))
    (tmp_path / "a.txt").write_bytes(b"a\nb\n\n \n")
    assert [t for _, t in iter_content_lines(PathGuard(tmp_path), tmp_path / "a.txt")] == ["a", "b"]


def test_open_refuses_links_out_specials_and_big_files(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside.txt"
    root.mkdir()
    outside.write_text("secret\n")
    guard = PathGuard(root)
    (root / "out.txt").symlink_to(outside)
    (root / "in.txt").write_text("x\n")
    (root / "link-in.txt").symlink_to(root / "in.txt")
    (root / "dir.txt").mkdir()
    os.mkfifo(root / "pipe.txt")
    (root / "dangling.txt").symlink_to(root / "nothing")
    with guard.open(root / "link-in.txt") as f:
        assert f.read() == b"x\n"
    cases = {
        "out.txt": ("path_outside_root", "found a symlink that resolves outside it"),
        "dir.txt": ("bad_annotation", "found a directory"),
        "pipe.txt": ("bad_annotation", "found a named pipe"),
        "dangling.txt": ("bad_annotation", "found a dangling symlink"),
        "missing.txt": ("bad_annotation", "found nothing there"),
    }
    for name, (reason, found) in cases.items():
        with pytest.raises(AnnotationError, match=found) as info:
            guard.open(root / name)
        assert info.value.reason == reason and "secret" not in str(info.value)
        assert str(info.value).startswith(f"{root / name}: file: expected ")
    with pytest.raises(
        AnnotationError, match="expected an annotation file of at most 1 bytes, found 2 bytes"
    ):
        guard.open(root / "in.txt", max_bytes=1)


def test_walk_does_not_follow_folder_links(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    (root / "a" / "b").mkdir(parents=True)
    elsewhere.mkdir()
    (elsewhere / "x.pts").write_text("")
    (root / "a" / "b" / "y.pts").write_text("")
    (root / "a" / "out").symlink_to(elsewhere, target_is_directory=True)
    (root / "a" / "loop").symlink_to(root, target_is_directory=True)
    skipped: list[str] = []
    folders = list(PathGuard(root).walk(root, skipped.append))
    assert [(f.rel, f.files, f.dirs) for f in folders] == [
        ("", (), ("a",)),
        ("a", (), ("b",)),
        ("a/b", ("y.pts",), ()),
    ]
    assert skipped == ["a/loop", "a/out"] and folders[2].parts == ("a", "b")
    with pytest.raises(AnnotationError, match="inside the dataset root"):
        list(PathGuard(root).walk(root / "a" / "out", skipped.append))


def test_a_folder_the_walk_cannot_list_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a" / "locked").mkdir(parents=True)
    real = os.scandir

    def scandir(path: str) -> object:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(
        AnnotationError, match="locked: folder: expected a readable folder, found permission denied"
    ):
        list(PathGuard(tmp_path).walk(tmp_path, lambda rel: None))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**400), 10**400)))
def test_finite_exactly_when_the_float32_cast_is(value: float) -> None:
    with np.errstate(over="ignore"):
        try:
            want = bool(np.isfinite(np.float32(float(value))))
        except OverflowError:
            want = False
    points, finite = stored_floats([1.0, value])
    assert finite == want and points.dtype == np.float32
    assert finite == bool(np.isfinite(points).all())


def test_float32_boundary() -> None:
    edge = 2.0**128 - 2.0**103  # halfway between FLT_MAX and 2**128: rounds to inf
    assert stored_floats([np.nextafter(edge, 0.0)])[1] and not stored_floats([edge])[1]
    assert not stored_floats([10**39])[1] and stored_floats([10**38])[1]


def test_non_finite_values_name_the_point_and_the_line() -> None:
    with pytest.raises(
        AnnotationError, match=r"f: line 7: expected finite landmark .*found point 1 = \(1e\+39, 2\)"
    ):
        landmark_array([1.0, 2.0, 1e39, 2], "f", 3, [5, 7])
    with pytest.raises(
        AnnotationError, match=r"f: line 3: expected box corners within float32's range"
    ) as info:
        box_values((0, 0, 10**400, 5), "f", 3)
    assert info.value.reason == "bad_annotation" and len(str(info.value)) < 300


def test_quoted_is_one_bounded_line() -> None:
    assert quoted("a\nb\x1b[31m\udcff") == "a\\nb\\x1b[31m\\udcff"
    long = quoted("9" * 5000)
    assert len(long) < 220 and long.endswith("… (5000 characters)")
    err = AnnotationError("dir\nname/f.txt", "line 3 <x a='\r'>", "x", "y" * 1000)
    assert "\n" not in str(err) and "\r" not in str(err) and len(str(err)) < 500
