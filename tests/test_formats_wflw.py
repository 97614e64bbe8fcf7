"""WFLW reader on the real first test record, its subset-list variant and malformed lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flmprep.errors import AnnotationError
from flmprep.formats import read_dataset
from flmprep.formats.wflw import ATTRIBUTES
from flmprep.records import FaceRecord, ReadReport

REAL = (
    Path(__file__).parent / "data" / "real-excerpts" / "wflw_list_98pt_rect_attr_test.line1.quoted_in_doc.txt"
)
MAIN = "WFLW_annotations/list_98pt_rect_attr_train_test"
SUBSETS = "WFLW_annotations/list_98pt_test"


def _real_fields() -> list[str]:
    return REAL.read_text("ascii").split()


def _subset_line(fields: list[str]) -> str:
    return " ".join(fields[:196] + fields[-1:])


def _write(root: Path, rel: str, lines: list[str]) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _read(root: Path, on_error: str = "fail") -> tuple[list[FaceRecord], ReadReport]:
    report = ReadReport()
    return list(read_dataset("wflw", root, on_error=on_error, report=report)), report  # type: ignore[arg-type]


def test_real_record(tmp_path: Path) -> None:
    _write(tmp_path, f"{MAIN}/list_98pt_rect_attr_test.txt", [REAL.read_text("ascii").rstrip("\n")])
    (record,), report = _read(tmp_path)
    assert not report.rejects
    assert record.key == "wflw_37--Soccer_37_Soccer_soccer_ball_37_45_f0"
    assert record.image == "WFLW_images/37--Soccer/37_Soccer_soccer_ball_37_45.jpg"
    assert (record.split, record.face, record.scheme) == ("test", 0, "wflw98")
    assert record.landmarks.shape == (98, 2) and record.landmarks.dtype == np.float32
    assert record.landmarks[0].tolist() == [np.float32(182.212006), np.float32(268.895996)]
    assert record.landmarks[97].tolist() == [np.float32(299.024561), np.float32(308.745029)]
    assert record.landmarks[60, 0] < record.landmarks[72, 0]  # 60 is the image-left outer eye corner
    assert record.bbox == (198.0, 242.0, 331.0, 385.0)
    assert record.attributes == dict.fromkeys(ATTRIBUTES, 0)


def test_splits_subsets_and_faces_per_image(tmp_path: Path) -> None:
    fields = _real_fields()
    line = " ".join(fields)
    posed = " ".join([*fields[:200], "1", "0", "0", "1", "0", "1", *fields[-1:]])
    _write(tmp_path, f"{MAIN}/list_98pt_rect_attr_train.txt", [line.replace("37_45", "37_46")])
    _write(tmp_path, f"{MAIN}/list_98pt_rect_attr_test.txt", [line, posed])
    _write(tmp_path, f"{SUBSETS}/list_98pt_test.txt", [_subset_line(fields)])
    _write(tmp_path, f"{SUBSETS}/list_98pt_test_largepose.txt", [_subset_line(fields)])
    records, _ = _read(tmp_path)
    assert [(r.split, r.face) for r in records] == [
        ("train", 0),
        ("test", 0),
        ("test", 1),
        ("test_largepose", 0),
    ]
    assert records[2].attributes == {
        "pose": 1,
        "expression": 0,
        "illumination": 0,
        "make_up": 1,
        "occlusion": 0,
        "blur": 1,
    }
    subset = records[3]
    assert subset.key == "wflw_test_largepose_37--Soccer_37_Soccer_soccer_ball_37_45_f0"
    assert subset.bbox is None and subset.attributes == {}
    assert np.array_equal(subset.landmarks, records[1].landmarks)


def test_plain_test_list_counts_only_without_the_rect_attr_list(tmp_path: Path) -> None:
    fields = _real_fields()
    _write(tmp_path, f"{SUBSETS}/list_98pt_test.txt", [_subset_line(fields)])
    _write(tmp_path, f"{SUBSETS}/list_98pt_test_blur.txt", [_subset_line(fields)])
    records, _ = _read(tmp_path)
    assert [r.split for r in records] == ["test", "test_blur"]


def test_backslash_paths_are_normalised(tmp_path: Path) -> None:
    fields = _real_fields()
    fields[-1] = fields[-1].replace("/", "\\")
    _write(tmp_path, f"{MAIN}/list_98pt_rect_attr_test.txt", [" ".join(fields)])
    (record,), _ = _read(tmp_path)
    assert record.image == "WFLW_images/37--Soccer/37_Soccer_soccer_ball_37_45.jpg"


def _bad(index: int, value: str) -> str:
    fields = _real_fields()
    fields[index] = value
    return " ".join(fields)


@pytest.mark.parametrize(
    ("line", "reason", "message"),
    [
        (
            " ".join(_real_fields()[:-2] + _real_fields()[-1:]),
            "bad_annotation",
            "line 2: expected 207 fields like the file's first record, found 206",
        ),
        (_bad(5, "2.5x"), "bad_annotation", "line 2: expected a number for a coordinate, found '2.5x'"),
        (
            _bad(7, "nan"),
            "nonfinite_landmarks",
            r"line 2: expected finite landmark coordinates \(within float32's range\), found point 3",
        ),
        (_bad(9, "-inf"), "nonfinite_landmarks", r"found point 4 = \(.*, -inf\)"),
        (_bad(197, "24.5"), "bad_annotation", "expected an integer rect value, found '24.5'"),
        (_bad(198, "100"), "bad_annotation", "expected a rect with x_min <= x_max"),
        (_bad(203, "2"), "bad_annotation", "expected attribute flags 0 or 1, found make_up=2"),
        (_bad(206, "../../escape.jpg"), "path_outside_root", "which leaves it through '..'"),
        (_bad(206, "/abs/x.jpg"), "path_outside_root", "absolute path"),
    ],
    ids=[
        "truncated",
        "non-numeric",
        "nan",
        "inf",
        "rect-float",
        "rect-inverted",
        "flag",
        "dotdot",
        "absolute",
    ],
)
def test_malformed_lines(tmp_path: Path, line: str, reason: str, message: str) -> None:
    real = " ".join(_real_fields())
    path = _write(
        tmp_path, f"{MAIN}/list_98pt_rect_attr_train.txt", [real, line, real.replace("37_45", "37_47")]
    )
    with pytest.raises(AnnotationError, match=message) as info:
        _read(tmp_path)
    assert info.value.reason == reason and str(info.value).startswith(f"{path}: line 2: ")
    records, report = _read(tmp_path, "skip")
    assert [r.key[-8:] for r in records] == ["37_45_f0", "37_47_f0"]
    (reject,) = report.rejects
    assert (reject.reason, reject.split, reject.origin) == (reason, "train", f"{path}:2")


def test_undecodable_byte_names_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, f"{MAIN}/list_98pt_rect_attr_test.txt", [" ".join(_real_fields())] * 2)
    path.write_bytes(path.read_bytes() + b"\xff\n")
    with pytest.raises(AnnotationError, match=r"line 3: expected UTF-8 text, found undecodable byte 0xff"):
        _read(tmp_path, "skip")


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    path = _write(tmp_path, f"{MAIN}/list_98pt_rect_attr_test.txt", [" ".join(_real_fields())])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    (record,), _ = _read(tmp_path)
    assert record.landmarks[0, 0] == np.float32(182.212006)


def test_unknown_layout_and_missing_lists(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match="no WFLW list"):
        _read(tmp_path)
    _write(tmp_path, f"{MAIN}/list_98pt_rect_attr_train.txt", [" ".join(_real_fields()[:150])])
    with pytest.raises(AnnotationError, match="line 1: expected 207 or 197 fields"):
        _read(tmp_path, "skip")
