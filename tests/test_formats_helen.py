"""HELEN 194-point reader on small hand-written roots (no real file is public; see FORMATS.md §4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flmprep.errors import AnnotationError
from flmprep.formats import read_dataset
from flmprep.formats.helen import natural_key
from flmprep.records import FaceRecord, ReadReport


def _points(n: int = 194, x0: float = 565.86) -> list[str]:
    return [f"{x0 + i * 0.5:.2f} , {758.98 + i:.2f}" for i in range(n)]


def _root(
    tmp: Path, annotations: dict[str, list[str]], train: str = "a_1\nb_1.jpg\n", test: str = "c_2\r\n"
) -> Path:
    (tmp / "annotation").mkdir(parents=True)
    for name, lines in annotations.items():
        (tmp / "annotation" / name).write_text("".join(line + "\n" for line in lines))
    (tmp / "trainnames.txt").write_text(train)
    (tmp / "testnames.txt").write_text(test)
    for rel in ("helen_1/a_1.jpg", "helen_1/b_1.jpg", "helen_5/c_2.jpg"):
        (tmp / rel).parent.mkdir(exist_ok=True)
        (tmp / rel).write_bytes(b"")
    return tmp


def _read(root: Path, on_error: str = "fail") -> tuple[list[FaceRecord], ReadReport]:
    report = ReadReport()
    return list(read_dataset("helen", root, on_error=on_error, report=report)), report  # type: ignore[arg-type]


def test_records_splits_images_and_natural_order(tmp_path: Path) -> None:
    root = _root(
        tmp_path,
        {"10.txt": ["c_2", *_points()], "2.txt": ["b_1 ", *_points()], "1.txt": ["a_1", *_points(x0=1.0)]},
    )
    records, report = _read(root)
    assert not report.rejects
    assert [(r.key, r.split, r.image) for r in records] == [
        ("helen_a_1_f0", "train", "helen_1/a_1.jpg"),
        ("helen_b_1_f0", "train", "helen_1/b_1.jpg"),
        ("helen_c_2_f0", "test", "helen_5/c_2.jpg"),
    ]
    assert records[1].landmarks.shape == (194, 2) and records[1].landmarks.dtype == np.float32
    assert records[1].landmarks[0].tolist() == [np.float32(565.86), np.float32(758.98)]
    assert records[0].landmarks[193].tolist() == [np.float32(97.5), np.float32(951.98)]
    assert records[0].scheme == "helen194" and records[0].bbox is None


def test_natural_key_orders_numbers_by_value() -> None:
    assert sorted(["10.txt", "2.txt", "1.txt", "b.txt"], key=natural_key) == [
        "1.txt",
        "2.txt",
        "10.txt",
        "b.txt",
    ]


def test_crlf_and_tight_commas(tmp_path: Path) -> None:
    tight = [p.replace(" , ", ",") for p in _points()]
    root = _root(tmp_path, {"1.txt": ["a_1\r", *(p + "\r" for p in tight)]})
    (record,), _ = _read(root)
    assert record.landmarks[0].tolist() == [np.float32(565.86), np.float32(758.98)]


@pytest.mark.parametrize(
    ("lines", "reason", "message"),
    [
        (["a_1", *_points(193)], "bad_annotation", "end of file: expected 194 points, found 193"),
        (["a_1", *_points(195)], "bad_annotation", "line 196: expected 194 points, found more"),
        (
            ["a_1", "1.0 2.0", *_points(193)],
            "bad_annotation",
            "line 2: expected a point 'x , y', found '1.0 2.0'",
        ),
        (
            ["a_1", *_points(5), "1.0 , y", *_points(188)],
            "bad_annotation",
            "line 7: expected a number for a coordinate, found 'y'",
        ),
        (["a_1", "inf , 2", *_points(193)], "nonfinite_landmarks", "expected finite landmark coordinates"),
        (["z_9", *_points()], "split_missing", "line 1: expected 'z_9' in trainnames.txt or testnames.txt"),
        (["", "a_1", *_points()], "bad_annotation", "line 1: expected the image name on line 1"),
    ],
    ids=["short", "long", "no-comma", "non-numeric", "inf", "no-split", "blank-name"],
)
def test_malformed_annotation(tmp_path: Path, lines: list[str], reason: str, message: str) -> None:
    root = _root(tmp_path, {"1.txt": lines, "2.txt": ["b_1", *_points()]})
    with pytest.raises(AnnotationError, match=message) as info:
        _read(root)
    assert info.value.reason == reason
    records, report = _read(root, "skip")
    assert [r.key for r in records] == ["helen_b_1_f0"]
    assert [r.reason for r in report.rejects] == [reason]


def test_missing_and_ambiguous_images(tmp_path: Path) -> None:
    root = _root(tmp_path, {"1.txt": ["a_1", *_points()], "2.txt": ["c_2", *_points()]})
    (root / "helen_1" / "a_1.jpg").unlink()
    (root / "helen_9").mkdir()
    (root / "helen_9" / "c_2.jpg").write_bytes(b"")
    records, report = _read(root, "skip")
    assert not records
    assert [(r.key, r.reason, r.split) for r in report.rejects] == [
        ("helen_a_1_f0", "missing_image", "train"),
        ("helen_c_2_f0", "bad_annotation", "test"),
    ]
    assert "found helen_5/c_2.jpg, helen_9/c_2.jpg" in report.rejects[1].message


def test_name_in_both_split_files_is_an_error(tmp_path: Path) -> None:
    root = _root(tmp_path, {"1.txt": ["a_1", *_points()]}, test="c_2\na_1.jpg\n")
    with pytest.raises(
        AnnotationError, match=r"testnames.txt: line 2: expected each image name in one split"
    ):
        _read(root, "skip")
