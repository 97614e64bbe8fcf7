"""`--to litdata` and `--to mds`: read back with litdata.StreamingDataset and mosaicml-streaming's
StreamingDataset, images and heatmaps byte-identical to the shards, arrays equal to the JSON."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import litdata
import numpy as np
import pytest

from flmprep.export import export, to_litdata, to_mds
from tests.helpers.export_builds import image_member, mixed_format_build, split_members, synth_build
from tests.helpers.streaming_mds import load_streaming


@pytest.fixture(scope="module")
def wflw_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_build(tmp_path_factory.mktemp("streaming"))[1]


def _read_litdata(folder: Path) -> list[dict[str, Any]]:
    dataset = litdata.StreamingDataset(str(folder))
    return [dataset[i] for i in range(len(dataset))]


def _read_mds(folder: Path) -> list[dict[str, Any]]:
    dataset = load_streaming()(local=str(folder), shuffle=False, batch_size=1, validate_hash="sha256")
    return [dataset[i] for i in range(dataset.num_samples)]


READERS: dict[str, Callable[[Path], list[dict[str, Any]]]] = {"litdata": _read_litdata, "mds": _read_mds}


def _check(items: list[dict[str, Any]], samples: list[dict[str, bytes]], heatmaps: bool) -> None:
    assert len(items) == len(samples)
    for item, sample in zip(items, samples, strict=True):
        doc = json.loads(sample["json"])
        ext, data = image_member(sample)
        assert item["key"] == doc["key"] and item["image_format"] == ext
        assert bytes(item["image"]) == data
        assert item["json"] == sample["json"].decode()
        assert item["landmarks"].dtype == np.float32 and item["landmarks"].shape == (len(doc["landmarks"]), 2)
        np.testing.assert_array_equal(item["landmarks"], np.asarray(doc["landmarks"], np.float32))
        np.testing.assert_array_equal(item["visible"], np.asarray(doc["visible"], np.uint8))
        np.testing.assert_array_equal(item["transform"], np.asarray(doc["transform"], np.float64))
        assert item["transform"].dtype == np.float64
        if heatmaps:
            assert bytes(item["heatmaps"]) == sample["hm.png"]
        else:
            assert "heatmaps" not in item


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_reads_back_byte_identical_with_its_own_reader(fmt: str, wflw_out: Path, tmp_path: Path) -> None:
    dest = tmp_path / fmt
    result = export(wflw_out, fmt, dest, progress=False)
    for split in ("train", "test"):
        assert (dest / split / "index.json").is_file()
        _check(READERS[fmt](dest / split), split_members(wflw_out, split), heatmaps=True)
    assert {s.split: s.path for s in result.splits} == {"train": "train/", "test": "test/"}
    assert not [p for p in dest.iterdir() if p.name.startswith(".")], "no staging folder left behind"


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_png_grey_and_webp_images_several_chunks(fmt: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Small chunks/shards: the readers join them in order; no heatmaps in this build."""
    monkeypatch.setattr(to_litdata, "CHUNK_BYTES", 25_000)
    monkeypatch.setattr(to_mds, "CHUNK_BYTES", 25_000)
    out = mixed_format_build(tmp_path / "out")
    dest = tmp_path / fmt
    export(out, fmt, dest, "train", progress=False)
    assert sorted(p.name for p in dest.iterdir()) == ["export.json", "train"]
    files = [p for p in (dest / "train").iterdir() if p.suffix in (".bin", ".mds")]
    assert len(files) >= 3
    _check(READERS[fmt](dest / "train"), split_members(out, "train"), heatmaps=False)


def test_mds_index_lists_each_shard_with_its_size_and_sha256(wflw_out: Path, tmp_path: Path) -> None:
    export(wflw_out, "mds", tmp_path / "mds", "train", progress=False)
    index = json.loads((tmp_path / "mds" / "train" / "index.json").read_text())
    for shard in index["shards"]:
        data = (tmp_path / "mds" / "train" / shard["raw_data"]["basename"]).read_bytes()
        assert shard["raw_data"]["bytes"] == len(data)
        assert shard["raw_data"]["hashes"]["sha256"] == hashlib.sha256(data).hexdigest()
