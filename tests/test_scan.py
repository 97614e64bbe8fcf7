"""``flmprep scan``: the library summary and the click command, on the real dlib faces."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from flmprep.cli import main
from flmprep.formats import read_dataset
from flmprep.scan import format_summary, scan

DLIB = Path(__file__).parent / "data" / "dlib-faces"


def _dlib_copy(tmp: Path, break_test_box: bool = False) -> Path:
    root = tmp / "dlib"
    shutil.copytree(DLIB, root)
    if break_test_box:
        xml = root / "testing_with_face_landmarks.xml"
        text = xml.read_text("latin-1")
        xml.write_text(text.replace("<part name='05'", "<part name='5x'", 1), "latin-1")
    return root


def test_summary_of_the_real_dlib_faces() -> None:
    summary = scan("300w", DLIB)
    assert list(summary.splits) == ["train", "test"]
    assert [(s.images, s.faces, s.rejects) for s in summary.splits.values()] == [(4, 18, {}), (5, 25, {})]
    assert (summary.total.images, summary.total.faces) == (9, 43)
    assert summary.counters == {"ignored_boxes": 0}
    assert summary.scheme == "ibug68"
    text = format_summary(summary)
    assert text.splitlines()[1:5] == [
        "split  images  faces  rejects",
        "train       4     18  0",
        "test        5     25  0",
        "total       9     43  0",
    ]
    assert text.endswith("ignored boxes: 0")


def test_rejects_are_counted_per_split_and_reason(tmp_path: Path) -> None:
    summary = scan("300w", _dlib_copy(tmp_path, break_test_box=True))
    assert summary.splits["test"].faces == 24 and summary.splits["test"].rejects == {"bad_annotation": 1}
    assert summary.to_json()["total"] == {"images": 9, "faces": 42, "rejects": {"bad_annotation": 1}}
    assert "test        5     24  1 (bad_annotation 1)" in format_summary(summary)


def test_records_are_written_as_json_lines() -> None:
    out = io.StringIO()
    scan("300w", DLIB, records_out=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 43
    first = lines[0]
    assert {"key", "split", "image", "face", "scheme", "landmarks", "bbox", "attributes"} <= set(first)
    assert (first["key"], first["split"], first["image"], first["face"]) == (
        "300w_2007_007763_f0",
        "train",
        "2007_007763.jpg",
        0,
    )
    records = list(read_dataset("300w", DLIB))
    for line, record in zip(lines, records, strict=True):
        assert np.array_equal(np.asarray(line["landmarks"], np.float32), record.landmarks)
        assert line["face"] == record.face and line["bbox"] == list(record.bbox or [])


def test_cli_text_json_and_records(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["scan", "300w", str(DLIB)])
    assert result.exit_code == 0, result.output
    assert "train       4     18  0" in result.output
    records = tmp_path / "records.jsonl"
    result = runner.invoke(main, ["scan", "300w", str(DLIB), "--json", "--records", str(records)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert list(doc["splits"]) == ["train", "test"] and doc["total"]["faces"] == 43
    assert len(records.read_text().splitlines()) == 43


def test_cli_fail_mode_names_the_bad_element(tmp_path: Path) -> None:
    root = _dlib_copy(tmp_path, break_test_box=True)
    result = CliRunner().invoke(main, ["scan", "300w", str(root), "--on-error", "fail"])
    assert result.exit_code == 2  # an input error (cli.errors)
    assert "testing_with_face_landmarks.xml: line " in result.output
    assert "<part name='5x'>" in result.output and "expected a part name 00…67, found '5x'" in result.output


def test_cli_rejects_unknown_dataset() -> None:
    result = CliRunner().invoke(main, ["scan", "afw", str(DLIB)])
    assert result.exit_code == 2 and "afw" in result.output
