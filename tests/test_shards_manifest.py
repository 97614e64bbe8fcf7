"""Shard names, sidecars, atomic writes and the resume check."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema

from flmprep.atomic import write_atomic
from flmprep.jsonio import write_json as write_json_atomic
from flmprep.records import Reject
from flmprep.shards import naming
from flmprep.shards.manifest import (
    IndexRef,
    Sidecar,
    check_shard,
    file_sha256,
    read_sidecar,
)

SCHEMA = json.loads(resources.files("flmprep.schemas").joinpath("shard.schema.json").read_text("utf-8"))


def test_shard_names_have_at_least_four_digits() -> None:
    assert naming.shard_stem(0) == "shard-0000"
    assert naming.shard_tar(42) == "shard-0042.tar"
    assert naming.shard_sidecar(12345) == "shard-12345.json"
    assert naming.parse_shard("shard-0042.tar") == (42, "tar")
    assert naming.parse_shard("shard-12345.json") == (12345, "json")
    assert naming.parse_shard("shard-42.tar") is None
    assert naming.parse_shard("shard-0042.tar.123-abc.tmp") is None
    assert naming.TMP_RE.match("shard-0042.tar.123-abc.tmp")
    assert naming.shard_index(7) == "shard-0007.idx"
    assert naming.parse_shard("shard-0007.idx") == (7, "idx")


def _shard(tmp_path: Path, payload: bytes = b"x" * 1000) -> tuple[Path, Path]:
    tar, side, idx = tmp_path / "shard-0000.tar", tmp_path / "shard-0000.json", tmp_path / "shard-0000.idx"
    write_atomic(tar, payload)
    write_atomic(idx, b"v1.2 0\n")
    digest, size = file_sha256(tar)
    idx_sha, idx_size = file_sha256(idx)
    index = IndexRef(idx.name, idx_size, idx_sha)
    reject = Reject("celeba_000003_f0", "truncated_image", "img_celeba/000003.jpg: cut", "list:5", "train")
    write_json_atomic(side, Sidecar("train", tar.name, 3, 2, size, digest, (reject,), index).to_json())
    return tar, side


def test_sidecar_round_trip_validates(tmp_path: Path) -> None:
    _, side = _shard(tmp_path)
    doc = json.loads(side.read_bytes())
    jsonschema.validate(doc, SCHEMA)
    assert doc["rejects"] == {"by_reason": {"truncated_image": 1}}
    assert read_sidecar(side).rejected[0].reason == "truncated_image"
    assert side.read_bytes().endswith(b"}\n")
    assert read_sidecar(side) == Sidecar.from_json(doc)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard-0000.idx", "shard-0000.json",
                                                          "shard-0000.tar"]  # no tmp left


def test_a_first_format_sidecar_is_read_and_written_back(tmp_path: Path) -> None:
    _, side = _shard(tmp_path)
    doc = json.loads(side.read_bytes())
    doc["schema"] = "flmprep.shard/1"
    del doc["index"]
    old = Sidecar.from_json(doc)
    assert old.index is None and old.to_json() == doc


def test_check_shard_finds_each_problem(tmp_path: Path) -> None:
    tar, side = _shard(tmp_path)
    assert check_shard(tar, side) is None
    idx = tar.with_suffix(".idx")
    idx.write_bytes(b"v1.2 1\n")
    assert "shard-0000.idx: expected sha256" in (check_shard(tar, side) or "")
    idx.unlink()
    assert (check_shard(tar, side) or "").endswith("shard-0000.idx: missing")
    tar.write_bytes(b"y" * 1000)
    assert "expected sha256" in (check_shard(tar, side) or "")
    tar.write_bytes(b"x" * 999)
    assert "expected 1000 bytes (sidecar), found 999" in (check_shard(tar, side) or "")
    side.write_text("{not json")
    assert "expected a JSON sidecar" in (check_shard(tar, side) or "")
    side.unlink()
    assert (check_shard(tar, side) or "").endswith("shard-0000.json: missing")
