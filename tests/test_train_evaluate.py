"""``flmprep evaluate``: the protocol above the table, 300W's common / challenge / full rows,
and the options it shares with ``flmprep train``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from flmprep.cli import main as cli
from flmprep.cli.train_cmd import evaluate, train
from flmprep.train import checkpoint
from flmprep.train.models import ModelSpec, build_model
from tests.helpers.train_shards import write_dataset


def _untrained_checkpoint(path: Path, spec: ModelSpec, scheme: str) -> Path:
    torch.manual_seed(0)
    model = build_model(spec)
    weights = model.state_dict()
    ckpt = checkpoint.Checkpoint(spec, scheme, 0, float("inf"), weights, None, None, {"loss": "mse"})
    checkpoint.save(path, ckpt)
    return path


@pytest.fixture(scope="module")
def protocol_300w(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 68-point dataset in the 300W protocol's split names, and an untrained checkpoint."""
    root = tmp_path_factory.mktemp("p300w")
    splits = {"train": [8], "test_common": [7, 5], "test_challenge": [5]}
    write_dataset(root / "data", splits, size=32, seed=2, scheme="ibug68")
    spec = ModelSpec.of("vanilla96", 68, 32, 32)
    return root / "data", _untrained_checkpoint(root / "ck.pt", spec, "ibug68")


def _evaluate(data: Path, ckpt: Path, *extra: str) -> tuple[int, str]:
    args = ["evaluate", "--data", str(data), "--checkpoint", str(ckpt), "--workers", "0", *extra]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.output


def test_300w_test_split_reports_common_challenge_full(protocol_300w: tuple[Path, Path]) -> None:
    code, out = _evaluate(*protocol_300w, "--split", "test")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "normaliser: inter-ocular, outer eye corners 36–45"
    assert lines[1] == "thresholds: FR@0.08, FR@0.10, AUC@0.08, AUC@0.10"
    assert lines[2].split() == ["subset", "faces", "NME", "FR@0.08", "FR@0.10", "AUC@0.08", "AUC@0.10"]
    assert [line.split()[:2] for line in lines[3:]] == [["common", "12"], ["challenge", "5"], ["full", "17"]]


def test_full_pools_both_parts(protocol_300w: tuple[Path, Path]) -> None:
    code, out = _evaluate(*protocol_300w, "--split", "test", "--json")
    assert code == 0, out
    doc = json.loads(out)
    common, challenge, full = (doc["parts"][k] for k in ("common", "challenge", "full"))
    for key in ("nme", "fr_008", "fr_010", "auc_008", "auc_010"):
        pooled = (12 * common[key] + 5 * challenge[key]) / 17
        assert full[key] == pytest.approx(pooled) == doc[key]
    assert doc["protocol"]["failure_thresholds"] == [0.08, 0.10]
    assert doc["protocol"]["auc_limits"] == [0.08, 0.10]
    assert doc["protocol"]["normaliser"] == "inter-ocular, outer eye corners 36–45"
    assert doc["count"] == 17 and doc["subsets"] == {}


def test_one_part_alone_is_a_plain_split(protocol_300w: tuple[Path, Path]) -> None:
    code, out = _evaluate(*protocol_300w, "--split", "test_challenge", "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["count"] == 5 and doc["parts"] == {}


def test_missing_split_is_one_line_naming_the_splits(protocol_300w: tuple[Path, Path]) -> None:
    code, out = _evaluate(*protocol_300w, "--split", "val")
    assert code == 2
    assert out.strip().startswith("flmprep evaluate: error: ")
    assert "expected split 'val', found splits: test_challenge, test_common, train" in out
    assert len(out.strip().splitlines()) == 1


def test_evaluate_shares_train_options() -> None:
    def params(cmd: object) -> dict[str, dict[str, object]]:
        return {p.name: p.to_info_dict() for p in cmd.params if p.name}  # type: ignore[attr-defined]

    shared = {"data", "batch_size", "workers", "amp"}
    ours, theirs = params(evaluate), params(train)
    assert shared <= set(ours)
    for name in shared:
        assert ours[name] == theirs[name], name
