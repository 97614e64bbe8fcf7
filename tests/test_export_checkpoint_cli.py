"""The one `flmprep export` command: which of --to and --onnx, what goes with each, and one-line
errors with exit status 2 for a SOURCE of the wrong kind (the ONNX success path is in
tests/test_predict_e2e.py, which has a trained checkpoint; the dataset path in test_export_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from flmprep.cli import main


def _error(*args: str | Path) -> str:
    done = CliRunner().invoke(main, ["export", *map(str, args)], prog_name="flmprep")
    lines = done.stderr.strip().splitlines()
    assert done.exit_code == 2, done.output
    assert len(lines) == 1 and lines[0].startswith("flmprep export: error: "), done.stderr
    assert "Traceback" not in done.output
    return lines[0]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((), "expected exactly one of --to FORMAT DEST (a built dataset) and --onnx FILE"),
        (("--to", "coco", "dest", "--onnx", "m.onnx"), "expected exactly one of --to"),
        (("--to", "coco"), "--to coco: expected DEST (a new or empty folder), found none"),
        (("dest", "--onnx", "m.onnx"), "--onnx: expected no DEST"),
        (("--onnx", "m.onnx", "--split", "test"), "--onnx: expected no --split"),
    ],
)
def test_options_that_do_not_go_together(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    line = _error(tmp_path, *args)
    assert needle in line
    assert not (tmp_path / "m.onnx").exists()


def test_onnx_from_a_missing_checkpoint(tmp_path: Path) -> None:
    line = _error(tmp_path / "best.pt", "--onnx", tmp_path / "m.onnx")
    assert f"{tmp_path / 'best.pt'}: expected a checkpoint file, found nothing there" in line


def test_onnx_from_a_built_dataset_folder(tmp_path: Path) -> None:
    line = _error(tmp_path, "--onnx", tmp_path / "m.onnx")
    assert "expected a checkpoint file (best.pt, last.pt), found a folder" in line


def test_onnx_from_a_file_that_is_no_checkpoint(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.pt"
    bogus.write_text("not a checkpoint")
    line = _error(bogus, "--onnx", tmp_path / "m.onnx")
    assert str(bogus) in line
    assert not (tmp_path / "m.onnx").exists()
