"""Seed presets: documented values, explicit options win (by click's parameter source), milestones
scale with --epochs, --list-presets, and one preset trained end to end through the CLI."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
import torch
from click.testing import CliRunner

from flmprep.cli import main as cli
from flmprep.train import checkpoint
from flmprep.train.__main__ import main as torchrun_main
from flmprep.train.config import TrainConfig, explicit_options, from_options, train_options
from flmprep.train.models import build_model, prepare_images
from flmprep.train.models.shapenet import ShapeNet
from flmprep.train.presets import PRESETS, scale_milestones
from tests.helpers.train_shards import write_dataset
from tests.test_train_seed_models import build_preset_data


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("presets")
    write_dataset(root, {"train": [4]}, size=32)
    return root


def resolve(data: Path, *args: str) -> TrainConfig:
    """The TrainConfig ``flmprep train ARGS`` would run with (same options, same resolution)."""
    seen: list[TrainConfig] = []

    @click.command()
    @train_options
    def probe(**kwargs: Any) -> None:
        seen.append(from_options(explicit_options(click.get_current_context()), **kwargs))

    result = CliRunner().invoke(probe, ["--data", str(data), *args])
    assert result.exit_code == 0, result.output
    return seen[0]


EXPECTED: dict[str, dict[str, object]] = {
    "xlandmark": {"model": "vanilla96", "loss": "mse"},
    "resnet18-wflw": {
        "model": "resnet18", "loss": "log1p_l2", "optimizer": "adam", "lr": 2e-6, "batch_size": 4,
        "epochs": 512, "weight_decay": 0.0, "milestones": (),
    },
    "mobilenetv3-wflw": {
        "model": "mobilenetv3", "loss": "log1p_l2", "optimizer": "sgd", "lr": 2e-6, "batch_size": 4,
        "epochs": 2000, "milestones": (1000, 1500),
    },
    "xception": {"model": "xception", "loss": "mse", "optimizer": "adam", "lr": 8e-4, "epochs": 30},
    "shapenet-300w": {"model": "shapenet", "pca_variance": 0.99},
    "rccnn-helen": {"model": "rccnn", "loss": "cascade", "sigma": 2.5, "passes": 3},
}  # fmt: skip


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_resolves_to_its_documented_values(name: str, data: Path) -> None:
    cfg = resolve(data, "--preset", name)
    assert cfg.preset == name
    got = {key: getattr(cfg, key) for key in EXPECTED[name]}
    assert got == EXPECTED[name]
    for key, setting in PRESETS[name].settings.items():  # every listed value is the one used
        assert getattr(cfg, key) == setting.value, key


def test_explicit_options_win_even_at_their_defaults(data: Path) -> None:
    # --epochs 10 and --lr 0.001 are the click defaults: given explicitly, they still win.
    cfg = resolve(data, "--preset", "xception", "--epochs", "10", "--lr", "0.001", "--batch-size", "2")
    assert (cfg.epochs, cfg.lr, cfg.batch_size, cfg.model, cfg.loss) == (10, 1e-3, 2, "xception", "mse")
    cfg = resolve(data, "--preset", "resnet18-wflw", "--loss", "wing", "--model", "mobilenetv3")
    assert (cfg.model, cfg.loss, cfg.lr) == ("mobilenetv3", "wing", 2e-6)


def test_milestones_scale_with_epochs_unless_given(data: Path) -> None:
    assert resolve(data, "--preset", "mobilenetv3-wflw", "--epochs", "8").milestones == (4, 6)
    given = resolve(data, "--preset", "mobilenetv3-wflw", "--epochs", "8", "--milestones", "2")
    assert given.milestones == (2,)
    assert scale_milestones((1000, 1500), 2000, 2000) == (1000, 1500)
    assert scale_milestones((1000, 1500), 2000, 1) == (1, 1)


def test_model_or_preset_is_required(data: Path) -> None:
    result = CliRunner().invoke(cli, ["train", "--data", str(data)])
    assert result.exit_code == 2
    assert "expected --model or --preset" in result.output


@pytest.mark.parametrize("command", [cli, torchrun_main], ids=["flmprep", "torchrun"])
def test_list_presets_prints_values_sources_and_build(command: click.Command) -> None:
    args = ["train", "--list-presets"] if command is cli else ["--list-presets"]
    result = CliRunner().invoke(command, args)
    assert result.exit_code == 0, result.output
    out = result.output
    for preset in PRESETS.values():
        assert f"{preset.name}  (seed {preset.seed})" in out
        assert preset.build.text() in out
    assert re.search(r"\n    --lr +2e-06 +seed 001 Baseline row: LR 2e-6\n", out)
    assert re.search(r"\n    --milestones +1000,1500 +seed 001 MobileNet-V3 Experiment 1: steps", out)
    assert "choice: seed silent" in out


def test_shapenet_preset_end_to_end_and_rebuilt_from_its_checkpoint(tmp_path: Path) -> None:
    data = build_preset_data(tmp_path / "b", "shapenet-300w")
    out = tmp_path / "run"
    args = ["train", "--preset", "shapenet-300w", "--data", str(data), "-o", str(out),
            "--epochs", "1", "--batch-size", "4", "--workers", "0"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("preset shapenet-300w: model shapenet, loss mse, adam lr 0.001, batch 4")
    ckpt = checkpoint.load(out / checkpoint.BEST)
    assert ckpt.spec.name == "shapenet" and ckpt.spec.channels == 1 and ckpt.spec.components >= 1
    assert ckpt.config["preset"] == "shapenet-300w"
    model = build_model(ckpt.spec)  # no data needed: the PCA travels in the weights
    model.load_state_dict(ckpt.model)
    assert isinstance(model, ShapeNet)
    mean = model.shape.mean.clone()
    assert float(mean.abs().sum()) > 0
    images = torch.randint(0, 256, (2, 64, 64, 1), dtype=torch.uint8)
    with torch.no_grad():
        assert torch.isfinite(model.eval()(prepare_images(images))).all()
    result = CliRunner().invoke(
        cli, ["evaluate", "--data", str(data), "--checkpoint", str(out / "best.pt"), "--workers", "0"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "normaliser: inter-ocular, outer eye corners 36–45"
