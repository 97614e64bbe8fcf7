"""`flmprep inspect`: the summary against independently computed figures, listing, one sample,
JSON output, rendering and exit statuses."""

from __future__ import annotations

import gzip
import json
import tarfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from click.testing import CliRunner, Result

from flmprep.cli.inspect_cmd import inspect_cmd
from flmprep.inspect import shard_paths
from tests.helpers.shards import dumps, sample_doc, sample_members, shard_members, write_dataset, write_shard

RECORDS = [f"celeba_{i:06d}_f0" for i in range(4)]


def _run(*args: str) -> Result:
    return CliRunner().invoke(inspect_cmd, list(args))


def _json(*args: str) -> dict[str, Any]:
    result = _run(*args, "--json")
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


@pytest.fixture
def shard(tmp_path: Path) -> Path:
    path = tmp_path / "shard-0000.tar"
    write_shard(path, shard_members(RECORDS, views=3, heatmap=True, scheme="ibug68"))
    return path


def _docs(path: Path) -> list[dict[str, Any]]:
    with tarfile.open(path) as tar:
        return [json.load(tar.extractfile(m)) for m in tar if m.name.endswith(".json")]  # type: ignore[arg-type]


def test_summary_matches_an_independent_count(shard: Path) -> None:
    doc = _json(str(shard))
    docs = _docs(shard)
    with tarfile.open(shard) as tar:
        sizes: dict[str, list[int]] = {}
        for m in tar:
            sizes.setdefault(m.name.split(".", 1)[1], []).append(m.size)
    assert doc["samples"] == 12 and doc["shards"] == 1 and doc["bytes"] == shard.stat().st_size
    assert doc["keys"] == {"first": "celeba_000000_f0_v00", "last": "celeba_000003_f0_v02"}
    assert doc["members"] == {e: {"count": len(v), "bytes": sum(v)} for e, v in sizes.items()}
    assert doc["image_sizes"] == {"96x96": 12} and doc["image_modes"] == {"jpg RGB": 12}
    assert doc["schemes"] == {"ibug68": {"count": 12, "K": 68}} and doc["splits"] == {"train": 12}
    visible = sum(sum(d["visible"]) for d in docs)
    assert doc["visibility"] == {"visible": visible, "points": 12 * 68, "rate": visible / (12 * 68)}
    pts = np.concatenate([np.array(d["landmarks"]) for d in docs])
    assert doc["landmark_bbox"] == [*pts.min(axis=0).tolist(), *pts.max(axis=0).tolist()]
    assert doc["augment"]["ranges"]["angle"] == [0.0, 10.0]
    assert doc["augment"]["ranges"]["view"] == [0, 2]
    assert doc["augment"]["true_rate"]["flip"] == pytest.approx(1 / 3)
    assert doc["heatmaps"] == {"16x16 sigma=2.5 tiles=9x8": 12}
    assert doc["validation"]["valid"] == 12 and doc["validation"]["invalid"] == []


def test_text_output_has_every_section(shard: Path) -> None:
    result = _run(str(shard))
    assert result.exit_code == 0
    for label in (
        "samples",
        "keys",
        "members",
        "image sizes",
        "image modes",
        "scheme",
        "visible",
        "landmarks",
        "augment",
        "heatmaps",
        "valid",
    ):
        assert any(line.startswith(label) for line in result.stdout.splitlines()), label
    assert "ibug68 (K=68) ×12" in result.stdout and "12 / 12 samples against" in result.stdout


def test_samples_lists_the_first_n(shard: Path) -> None:
    lines = _run(str(shard), "--samples", "4").stdout.splitlines()
    listed = [line for line in lines if line.startswith("celeba_")]
    assert [line.split()[0] for line in listed] == [f"celeba_00000{i // 3}_f0_v0{i % 3}" for i in range(4)]
    assert "96x96  ibug68  train  vis 68/68  view 0 angle 0 scale 1 -  ok" in listed[0]
    assert len(_json(str(shard), "--samples", "5")["sample_list"]) == 5


def test_key_shows_one_sample_whole(shard: Path) -> None:
    doc = _json(str(shard), "--key", "celeba_000002_f0_v01")
    expected = next(d for d in _docs(shard) if d["key"] == "celeba_000002_f0_v01")
    assert doc["sample"]["json"] == expected and doc["sample"]["problems"] == []
    assert set(doc["sample"]["members"]) == {"jpg", "json", "hm.png"}
    text = _run(str(shard), "--key", "celeba_000002_f0_v01").stdout
    assert '"key": "celeba_000002_f0_v01"' in text
    missing = _run(str(shard), "--key", "nope_v00")
    assert missing.exit_code == 1 and "expected a sample with key 'nope_v00'" in missing.output


def test_invalid_samples_exit_1_and_say_which_and_why(tmp_path: Path) -> None:
    members = shard_members(RECORDS[:2])
    bad = sample_doc("celeba_999999_f0", 0)
    bad["landmarks"].pop()
    bad_members = sample_members(bad)
    bad_members = [(n, dumps(bad) if n.endswith(".json") else d) for n, d in bad_members]
    write_shard(tmp_path / "s.tar", members + bad_members)
    result = _run(str(tmp_path / "s.tar"))
    assert result.exit_code == 1
    assert "INVALID" in result.stderr and "celeba_999999_f0_v00" in result.stderr
    assert "expected 5 points for scheme celeba5, found 4 landmarks" in result.stderr
    assert "2 / 3 samples against" in result.stdout


def test_render_writes_a_contact_sheet(shard: Path, tmp_path: Path) -> None:
    plain, fancy = tmp_path / "plain.png", tmp_path / "fancy.png"
    assert _run(str(shard), "--render", str(plain), "--n", "5").exit_code == 0
    assert _run(str(shard), "--render", str(fancy), "--n", "5", "--labels", "--heatmaps").exit_code == 0
    a = cv2.imread(str(plain))
    b = cv2.imread(str(fancy))
    assert a is not None and b is not None and a.shape == b.shape
    assert a.shape[:2] == (2 * (192 + 14 + 2) + 2, 3 * (192 + 2) + 2)  # 96 px tiles drawn at 2×
    assert (a != b).any()


def test_a_dataset_folder_reads_the_manifest_shards(tmp_path: Path) -> None:
    write_dataset(tmp_path, {"train": [2, 3], "test": [1]})
    doc = _json(str(tmp_path))
    assert doc["shards"] == 3 and doc["samples"] == 6 and doc["splits"] == {"test": 1, "train": 5}
    listed = ["test/shard-0000.tar", "train/shard-0000.tar", "train/shard-0001.tar"]
    assert [Path(p).relative_to(tmp_path).as_posix() for p in doc["paths"]] == listed
    (tmp_path / "train" / "zzz.tar").write_bytes((tmp_path / "train" / "shard-0001.tar").read_bytes())
    assert _json(str(tmp_path))["samples"] == 6  # an unlisted shard is not read
    (tmp_path / "manifest.json").unlink()
    found = [p.relative_to(tmp_path).as_posix() for p in shard_paths(tmp_path)]
    assert found == [*listed, "train/zzz.tar"]


def test_empty_folder_is_unreadable(tmp_path: Path) -> None:
    result = _run(str(tmp_path))
    assert result.exit_code == 2 and "found none" in result.output


def test_inspect_reads_gzip_shards(shard: Path, tmp_path: Path) -> None:
    gz = tmp_path / "s.tar.gz"
    gz.write_bytes(gzip.compress(shard.read_bytes()))
    assert _json(str(gz))["samples"] == 12


def test_render_survives_an_undecodable_image(tmp_path: Path) -> None:
    members = shard_members(RECORDS[:2])
    members = [(n, d[:700] if n.startswith(RECORDS[0]) and n.endswith(".jpg") else d) for n, d in members]
    write_shard(tmp_path / "s.tar", members)
    result = _run(str(tmp_path / "s.tar"), "--render", str(tmp_path / "sheet.png"))
    assert result.exit_code == 0, result.output  # the header is intact: the sample validates
    assert "rendered 2 samples" in result.stdout and cv2.imread(str(tmp_path / "sheet.png")) is not None


def test_a_manifest_cannot_point_outside_the_folder(tmp_path: Path) -> None:
    manifest = write_dataset(tmp_path / "out", {"train": [1]})
    manifest["splits"]["train"]["shards"][0]["path"] = "../elsewhere.tar"
    (tmp_path / "out" / "manifest.json").write_bytes(dumps(manifest))
    result = _run(str(tmp_path / "out"))
    assert (
        result.exit_code == 2
        and "expected shard paths inside the folder, found '../elsewhere.tar'" in result.output
    )
