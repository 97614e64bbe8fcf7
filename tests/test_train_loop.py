"""End-to-end training on CPU: learning, checkpoints, resume, --amp, the heatmap model, the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from flmprep.cli import main as cli
from flmprep.data import open_dataset
from flmprep.train import checkpoint
from flmprep.train.config import TrainConfig
from flmprep.train.errors import TrainError
from flmprep.train.loop import model_spec, run, validation_split
from flmprep.train.models import build_model, place
from flmprep.train.predict import EvalSetup, evaluate_checkpoint, predict, score
from flmprep.train.runtime import start
from tests.helpers.train_shards import write_dataset


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> None:
    """2 shared cores: one intra-op thread is faster than two fighting."""
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("small")
    write_dataset(root, {"train": [30, 19, 11], "val": [16]}, size=32, seed=4, flags=True)
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real shards: ``flmprep synth celeba`` (120 images) → ``flmprep build --crops 3`` (96×96)."""
    root = tmp_path_factory.mktemp("built")
    runner = CliRunner()
    done = runner.invoke(cli, ["synth", "celeba", str(root / "syn"), "--n", "120", "--seed", "3"])
    assert done.exit_code == 0, done.output
    args = [
        "build",
        "--dataset",
        "celeba",
        "--root",
        str(root / "syn"),
        "--out",
        str(root / "data"),
        "--crops",
        "3",
        "--samples-per-shard",
        "64",
    ]
    done = runner.invoke(cli, args)
    assert done.exit_code == 0, done.output
    return root / "data"


def _cfg(data: Path, out: Path, **kw: object) -> TrainConfig:
    base = {"epochs": 1, "batch_size": 16, "workers": 0, "shuffle_buffer": 64, "lr": 2e-3}
    return TrainConfig(data=data, model=str(kw.pop("model", "vanilla96")), output=out, **{**base, **kw})  # type: ignore[arg-type]


def _untrained_nme(cfg: TrainConfig) -> float:
    manifest = open_dataset(cfg.data)
    spec = model_spec(manifest, cfg)
    torch.manual_seed(cfg.seed)
    model = place(build_model(spec), torch.device("cpu"))
    setup = EvalSetup(manifest.root, manifest.shards("val"), spec, cfg.loss, 32, 0, False)
    return score(predict(model, setup, start()), manifest.scheme, "val").overall.nme


def test_vanilla96_training_halves_validation_nme(built: Path, tmp_path: Path) -> None:
    cfg = _cfg(built, tmp_path / "run", epochs=3, batch_size=16)
    before = _untrained_nme(cfg)
    history = run(cfg)
    report = evaluate_checkpoint(built, tmp_path / "run" / checkpoint.BEST, "val", start(), workers=0)
    manifest = open_dataset(built)
    assert report.overall.count == manifest.samples("val") >= 8
    assert report.overall.nme <= 0.5 * before, (before, [h["val"]["nme"] for h in history])
    assert [h["steps"] for h in history] == [manifest.samples("train") // 16] * 3


def test_checkpoints_and_resume_continue_exactly(small: Path, tmp_path: Path) -> None:
    straight = _cfg(small, tmp_path / "straight", epochs=2)
    run(straight)
    first = _cfg(small, tmp_path / "resumed", epochs=1)
    run(first)
    with pytest.raises(TrainError, match="pass --resume"):
        run(first)
    run(replace(first, epochs=2, resume=True))
    a = checkpoint.load(tmp_path / "straight" / checkpoint.LAST)
    b = checkpoint.load(tmp_path / "resumed" / checkpoint.LAST)
    assert a.epoch == b.epoch == 2
    assert b.optimizer is not None and b.optimizer["state"]
    for name, tensor in a.model.items():
        torch.testing.assert_close(tensor, b.model[name], rtol=0, atol=0, msg=name)
    rows = [json.loads(line) for line in (tmp_path / "resumed" / "history.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    best = checkpoint.load(tmp_path / "resumed" / checkpoint.BEST)
    assert best.best_val_loss == min(r["val"]["loss"] for r in rows)


def test_resume_without_checkpoint_is_refused(small: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainError, match=r"--resume: expected .*last\.pt"):
        run(_cfg(small, tmp_path / "none", resume=True))


def test_amp_bf16_on_cpu_and_sgd_milestones(small: Path, tmp_path: Path) -> None:
    cfg = _cfg(
        small, tmp_path / "amp", epochs=2, amp=True, optimizer="sgd", lr=0.01, milestones=(1,), loss="wing"
    )
    history = run(cfg)
    assert all(torch.isfinite(torch.tensor(h["train_loss"])) for h in history)
    ckpt = checkpoint.load(tmp_path / "amp" / checkpoint.LAST)
    assert ckpt.scheduler is not None and ckpt.scheduler["last_epoch"] == 2
    assert ckpt.optimizer is not None and ckpt.optimizer["param_groups"][0]["lr"] == pytest.approx(0.001)


def test_heatmap_model_trains_with_device_rendered_targets(tmp_path: Path) -> None:
    write_dataset(tmp_path / "data", {"train": [24], "val": [8]}, size=32)
    history = run(_cfg(tmp_path / "data", tmp_path / "hm", model="heatmap", batch_size=8, sigma=1.5))
    assert history[0]["steps"] == 3 and history[0]["val"]["count"] == 8
    assert checkpoint.load(tmp_path / "hm" / checkpoint.LAST).spec.sigma == 1.5


def test_cli_train_and_evaluate(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    args = [
        "train",
        "--data",
        str(small),
        "--model",
        "vanilla96",
        "-o",
        str(out),
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--workers",
        "0",
        "--loss",
        "log1p_l2",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "epoch   1  steps 3" in result.output
    result = CliRunner().invoke(
        cli,
        [
            "evaluate",
            "--data",
            str(small),
            "--checkpoint",
            str(out / "last.pt"),
            "--split",
            "val",
            "--workers",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "normaliser: inter-ocular, eye centres 0–1"
    assert lines[1] == "thresholds: FR@0.08, FR@0.10, AUC@0.10"
    assert lines[2].split() == ["subset", "faces", "NME", "FR@0.08", "FR@0.10", "AUC@0.10"]
    assert lines[3].split()[:2] == ["all", "16"]
    assert {line.split()[0] for line in lines[4:]} == {
        "pose",
        "expression",
        "illumination",
        "makeup",
        "occlusion",
        "blur",
    }


def test_cli_refuses_mismatched_loss(small: Path, tmp_path: Path) -> None:
    args = ["train", "--data", str(small), "--model", "vanilla96", "-o", str(tmp_path), "--loss", "heatmap"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "loss 'heatmap' does not fit model 'vanilla96'" in result.output


def test_too_small_split_fails_fast(tmp_path: Path) -> None:
    write_dataset(tmp_path / "data", {"train": [5], "val": [3]}, size=32)
    with pytest.raises(ValueError, match="fewer than ranks x batch size = 1 x 8"):
        run(_cfg(tmp_path / "data", tmp_path / "o", batch_size=8))


@pytest.mark.parametrize(
    ("splits", "want"),
    [
        ({"train": [4], "val": [2], "test": [2]}, "val"),
        ({"train": [4], "test": [2], "test_common": [2]}, "test"),
        ({"train": [4], "test_common": [2], "test_challenge": [2]}, "test_common"),
        ({"train": [4], "test_challenge": [2]}, ""),
    ],
)
def test_validation_split_falls_back_to_300ws_common_set(
    tmp_path: Path, splits: dict[str, list[int]], want: str
) -> None:
    write_dataset(tmp_path / "data", splits, size=16)
    manifest = open_dataset(tmp_path / "data")
    assert validation_split(manifest, _cfg(tmp_path / "data", tmp_path / "run")) == want
    explicit = _cfg(tmp_path / "data", tmp_path / "run", val_split="train")
    assert validation_split(manifest, explicit) == "train"
