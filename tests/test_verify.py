"""`flmprep verify`: each kind of damage to a built dataset is reported on its own line."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from flmprep.cli.verify_cmd import verify
from flmprep.verify import verify_output
from tests.helpers.shards import dumps, sample_doc, sample_members, shard_members, write_dataset, write_shard

LAYOUT = {"train": [3, 3, 2], "test": [2]}


def _run(out: Path, *args: str) -> Result:
    return CliRunner().invoke(verify, [str(out), *args])


def _problems(out: Path, quick: bool = False) -> list[str]:
    return [str(p) for p in verify_output(out, samples=not quick).problems]


def _rewrite(path: Path, change: Any) -> None:
    doc = json.loads(path.read_bytes())
    change(doc)
    path.write_bytes(dumps(doc))


@pytest.fixture
def out(tmp_path: Path) -> Path:
    write_dataset(tmp_path / "out", LAYOUT, heatmap=True)
    return tmp_path / "out"


def test_a_clean_dataset_verifies(out: Path) -> None:
    result = _run(out)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(f"OK: 4 shards, 10 samples checked in {out}")


def test_each_problem_is_one_line_and_exit_is_1(out: Path) -> None:
    (out / "test" / "shard-0000.tar").unlink()
    (out / "train" / "shard-0007.tar").write_bytes((out / "train" / "shard-0000.tar").read_bytes())
    result = _run(out)
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith("PROBLEM")]
    assert lines == [
        f"PROBLEM {out}/test/shard-0000.tar: expected the shard listed in manifest.json, found no file",
        f"PROBLEM {out}/train/shard-0007.tar: expected only shards listed in manifest.json, "
        "found an unlisted shard",
    ]
    assert "FAILED: 2 problem(s)" in result.stdout


def test_a_flipped_byte_fails_the_sha256(out: Path) -> None:
    path = out / "train" / "shard-0001.tar"
    with tarfile.open(path) as tar:
        jpg = next(m for m in tar if m.name.endswith(".jpg"))
    data = bytearray(path.read_bytes())
    data[jpg.offset_data + 100] ^= 0x01  # inside an image's data: the tar still reads
    path.write_bytes(bytes(data))
    problems = _problems(out)
    assert len(problems) == 1 and problems[0].startswith("train/shard-0001.tar: expected sha256 ")


def test_truncated_shard_reports_size_hash_and_the_member(out: Path) -> None:
    path = out / "train" / "shard-0000.tar"
    path.write_bytes(path.read_bytes()[:5000])
    problems = _problems(out)
    size = json.loads((out / "train/shard-0000.json").read_bytes())["bytes"]
    assert problems[0] == f"train/shard-0000.tar: expected {size} bytes (manifest), found 5000"
    assert problems[1].startswith("train/shard-0000.tar: expected sha256")
    assert "unreadable:" in problems[2] and "truncated archive" in problems[2]


def test_sample_count_disagreeing_with_the_manifest(out: Path) -> None:
    path = out / "train" / "shard-0002.tar"
    write_shard(path, shard_members([f"celeba_train02{i:04d}_f0" for i in range(3)], heatmap=True))
    problems = _problems(out)
    assert "train/shard-0002.tar: expected 2 samples (manifest), found 3" in problems


def test_sidecar_disagreement_and_absence(out: Path) -> None:
    _rewrite(out / "train" / "shard-0001.json", lambda d: d.update(samples=4, records=4))
    (out / "test" / "shard-0000.json").unlink()
    (out / "train" / "shard-0009.json").write_bytes(b"{}")
    problems = _problems(out, quick=True)
    assert problems == [
        "test/shard-0000.json: expected the shard's sidecar, found no file",
        "train/shard-0001.json: /samples: expected 3 (manifest), found 4",
        "train/shard-0001.json: /records: expected 3 (manifest), found 4",
        "train/shard-0009.json: expected sidecars and indexes only next to listed shards, found an unlisted "
        "one",
    ]


def test_invalid_samples_and_wrong_split_are_named(out: Path) -> None:
    good = shard_members(["celeba_test00000_f0"], heatmap=True, split="test")
    wrong_split = sample_doc("celeba_test00001_f0", 0, split="train")
    bad = sample_doc("celeba_test00002_f0", 0, split="test")
    bad["visible"] = bad["visible"][:3]
    members = good + sample_members(wrong_split, heatmap=True)
    members += [(n, dumps(bad) if n.endswith(".json") else d) for n, d in sample_members(bad, heatmap=True)]
    write_shard(out / "test" / "shard-0000.tar", members)
    problems = [p for p in _problems(out) if "sha256" not in p and "bytes" not in p and ".idx" not in p]
    assert problems == [
        "test/shard-0000.tar: celeba_test00001_f0_v00: /split: expected 'test' (manifest), found 'train'",
        "test/shard-0000.tar: celeba_test00002_f0_v00: /landmarks: expected 5 points for scheme celeba5, "
        "found 5 landmarks and 3 visibility flags",
        "test/shard-0000.tar: expected 2 samples (manifest), found 3",
    ]
    assert not any("celeba_test" in p for p in _problems(out, quick=True))


def test_duplicate_keys_across_shards(out: Path) -> None:
    path = out / "train" / "shard-0001.tar"
    path.write_bytes((out / "train" / "shard-0000.tar").read_bytes())
    problems = _problems(out, quick=True)
    assert (
        "train/shard-0001.tar: celeba_train000000_f0_v00: expected unique sample keys, found a duplicate"
        in problems
    )


def test_manifest_and_rejects_consistency(out: Path) -> None:
    _rewrite(out / "manifest.json", lambda d: d["totals"].update(samples=11))
    (out / "rejects.jsonl").write_bytes(
        b'{"key":"k","reason":"missing_image","message":"","origin":"","split":""}\n'
    )
    problems = _problems(out, quick=True)
    assert problems == [
        "manifest.json: /totals/samples: expected 10, found 11",
        "rejects.jsonl: expected counts by reason {} (manifest), found {'missing_image': 1}",
    ]


def test_missing_manifest_exits_2(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert result.exit_code == 2 and "manifest.json: expected a manifest, found none" in result.stderr
    (tmp_path / "manifest.json").write_text("{")
    assert _run(tmp_path).exit_code == 2


def test_leftover_temporary_files_are_warnings(out: Path) -> None:
    (out / "train" / "shard-0003.tar.1234-abcdef.tmp").write_bytes(b"partial")
    result = _run(out)
    assert result.exit_code == 0
    assert "warning: train/shard-0003.tar.1234-abcdef.tmp: leftover temporary file" in result.stderr


def test_json_report(out: Path) -> None:
    (out / "train" / "shard-0002.tar").unlink()
    result = _run(out, "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["shards"] == 4 and doc["samples"] == 8
    assert doc["problems"] == [
        "train/shard-0002.tar: expected the shard listed in manifest.json, found no file"
    ]


def test_a_build_of_the_first_formats_verifies(tmp_path: Path) -> None:
    """Sample /1, sidecar /1 and manifest /1 (no index, no versions, no card) stay valid."""
    write_dataset(tmp_path / "old", LAYOUT, heatmap=True, version=1)
    report = verify_output(tmp_path / "old")
    assert report.problems == () and report.samples == 10
    assert not list((tmp_path / "old").rglob("*.idx"))


def test_the_dali_index_must_list_the_members_offsets(out: Path) -> None:
    idx = out / "train" / "shard-0001.idx"
    lines = idx.read_bytes().splitlines()
    fields = lines[2].split(b" ")
    fields[1] = str(int(fields[1]) + 512).encode()
    lines[2] = b" ".join(fields)
    idx.write_bytes(b"\n".join(lines) + b"\n")
    problems = _problems(out)
    assert problems[0].startswith("train/shard-0001.idx: expected ")  # sha256 of the manifest
    assert problems[1].startswith("train/shard-0001.idx: line 3: expected 'hm.png ")
    assert len(problems) == 2
    idx.unlink()
    assert _problems(out, quick=True) == [
        "train/shard-0001.idx: expected the shard's DALI index (manifest), found no file"]


def test_the_dataset_card_header_must_match_the_manifest(out: Path) -> None:
    from flmprep.shards.card import dataset_card
    from flmprep.shards.manifest import Manifest

    card = dataset_card(Manifest.load(out))
    (out / "README.md").write_text(card + "\nNotes of my own.\n")
    assert _problems(out, quick=True) == []  # the text below the header is free
    (out / "README.md").write_text(card.replace("- train/shard-0002.tar\n", ""))
    assert _problems(out, quick=True) == [
        "README.md: expected the YAML header generated from manifest.json (configs listing every split's "
        "shards), found a different one (only the text below the header may be edited)"]
    (out / "README.md").unlink()
    assert any(w.startswith("README.md: no dataset card") for w in verify_output(out, samples=False).warnings)
