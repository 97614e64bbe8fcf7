"""`flmprep export SOURCE --to FMT DEST`: one-line errors with exit status 2 for what a user can get
wrong, nothing written before the checks pass, --split, the progress bar and the summary."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from flmprep.cli import main
from tests.helpers.shards import write_dataset


@pytest.fixture
def out(tmp_path: Path) -> Path:
    write_dataset(tmp_path / "out", {"train": [3, 2], "test": [2]})
    return tmp_path / "out"


def _run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["export", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def _one_error_line(code: int, stderr: str, *needles: str) -> None:
    lines = stderr.strip().splitlines()
    assert code == 2, stderr
    assert len(lines) == 1 and lines[0].startswith("flmprep export: error: "), stderr
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in lines[0]


def test_exports_one_split_and_prints_a_summary(out: Path, tmp_path: Path) -> None:
    code, stdout, stderr = _run(out, "--to", "coco", tmp_path / "dest", "--split", "test")
    assert code == 0, stderr
    assert "test: 2 samples" in stdout and "dataset_info.py" in stdout
    assert "test → coco" in stderr  # the tqdm bar
    assert sorted(p.name for p in (tmp_path / "dest" / "annotations").iterdir()) == ["test.json"]
    record = json.loads((tmp_path / "dest" / "export.json").read_text())
    assert list(record["splits"]) == ["test"]


def test_no_progress_prints_no_bar(out: Path, tmp_path: Path) -> None:
    code, _, stderr = _run(out, "--to", "mds", tmp_path / "dest", "--no-progress")
    assert code == 0 and stderr == ""


def test_missing_build(tmp_path: Path) -> None:
    code, _, stderr = _run(tmp_path / "nope", "--to", "coco", tmp_path / "dest")
    _one_error_line(code, stderr, str(tmp_path / "nope"), "expected a built dataset folder", "found nothing")
    assert not (tmp_path / "dest").exists()


def test_folder_without_a_manifest(tmp_path: Path) -> None:
    (tmp_path / "half").mkdir()
    code, _, stderr = _run(tmp_path / "half", "--to", "litdata", tmp_path / "dest")
    _one_error_line(code, stderr, "manifest.json")
    assert not (tmp_path / "dest").exists()


def test_invalid_manifest(out: Path, tmp_path: Path) -> None:
    (out / "manifest.json").write_text('{"schema": "something/else"}')
    code, _, stderr = _run(out, "--to", "coco", tmp_path / "dest")
    _one_error_line(code, stderr, "manifest.json", "something/else")


def test_unknown_split_lists_the_builds_splits(out: Path, tmp_path: Path) -> None:
    code, _, stderr = _run(out, "--to", "coco", tmp_path / "dest", "--split", "val")
    _one_error_line(code, stderr, "'val'", "(test, train)")
    assert not (tmp_path / "dest").exists()


def test_non_empty_dest_is_refused_and_left_alone(out: Path, tmp_path: Path) -> None:
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "mine.txt").write_text("keep")
    code, _, stderr = _run(out, "--to", "mds", tmp_path / "dest")
    _one_error_line(code, stderr, str(tmp_path / "dest"), "expected an empty or new folder", "mine.txt")
    assert sorted(p.name for p in (tmp_path / "dest").iterdir()) == ["mine.txt"]


def test_dest_inside_the_build_is_refused(out: Path) -> None:
    code, _, stderr = _run(out, "--to", "coco", out / "export")
    _one_error_line(code, stderr, "outside the build")
    assert not (out / "export").exists()


def test_an_empty_dest_is_used(out: Path, tmp_path: Path) -> None:
    (tmp_path / "dest").mkdir()
    code, _, stderr = _run(out, "--to", "coco", tmp_path / "dest", "--no-progress")
    assert code == 0, stderr


def test_missing_litdata_names_the_extra(out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "litdata", None)  # an import of it now raises ImportError
    code, _, stderr = _run(out, "--to", "litdata", tmp_path / "dest")
    _one_error_line(code, stderr, "litdata", "pip install 'flmprep[litdata]'")
    assert not (tmp_path / "dest").exists()


def test_truncated_shard_names_the_tar(out: Path, tmp_path: Path) -> None:
    tar = out / "train" / "shard-0001.tar"
    tar.write_bytes(tar.read_bytes()[:1500])
    code, _, stderr = _run(out, "--to", "coco", tmp_path / "dest", "--no-progress")
    _one_error_line(code, stderr, str(tar), "truncated")
    assert not (tmp_path / "dest" / "export.json").exists()
    assert not (tmp_path / "dest" / "annotations" / "train.json").exists()  # written only when complete


def test_a_shard_with_fewer_samples_than_the_manifest(out: Path, tmp_path: Path) -> None:
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["splits"]["test"]["shards"][0]["samples"] = 3
    manifest["splits"]["test"]["samples"] = 3
    (out / "manifest.json").write_text(json.dumps(manifest))
    code, _, stderr = _run(out, "--to", "mds", tmp_path / "dest", "--no-progress")
    _one_error_line(code, stderr, "test/shard-0000.tar", "expected 3 samples (manifest), found 2")


def test_a_sample_without_its_json_names_the_sample(tmp_path: Path) -> None:
    from tests.helpers import golden
    from tests.helpers.shards import sample_doc, sample_members

    members = [m for m in sample_members(sample_doc("celeba_x_f0")) if not m[0].endswith(".json")]
    golden.write_dataset(tmp_path / "out", {"train": [members]})
    code, _, stderr = _run(tmp_path / "out", "--to", "coco", tmp_path / "dest", "--no-progress")
    _one_error_line(code, stderr, "shard-0000.tar", "celeba_x_f0_v00", "expected one image member")


def test_unknown_format_is_a_usage_error(out: Path, tmp_path: Path) -> None:
    code, _, stderr = _run(out, "--to", "tfrecord", tmp_path / "dest")
    assert code == 2 and "tfrecord" in stderr


@pytest.mark.parametrize("fmt", ["coco", "litdata", "mds"])
def test_an_empty_split_is_reported_not_written(fmt: str, tmp_path: Path) -> None:
    write_dataset(tmp_path / "out", {"train": [2], "val": []})
    code, stdout, stderr = _run(tmp_path / "out", "--to", fmt, tmp_path / "dest", "--no-progress")
    assert code == 0, stderr
    assert "val: 0 samples -> nothing (empty split)" in stdout
    record = json.loads((tmp_path / "dest" / "export.json").read_text())
    assert record["splits"]["val"] == {"samples": 0, "path": ""}
    assert not (tmp_path / "dest" / "val").exists()
