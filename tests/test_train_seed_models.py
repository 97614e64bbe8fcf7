"""Every model trains on ``flmprep synth`` shards built with its seed preset's build command.

The builds use each preset's own command with a smaller ``--out-size`` (and fewer CelebA
crops), so that a few CPU steps stay fast; the models size themselves from the data. Each
model takes optimizer steps on one fixed batch and its loss must fall. Grey (``300w``) shards
feed the 1-channel models as they are and 3-channel models expanded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from flmprep.cli import main as cli
from flmprep.data import open_dataset
from flmprep.data.loader import Batch, LandmarkDataset, make_loader
from flmprep.train.config import TrainConfig
from flmprep.train.loop import initial_model, model_spec
from flmprep.train.models import ModelSpec, prepare_images
from flmprep.train.predict import batch_loss
from flmprep.train.presets import get_preset

#: Preset → (synthetic images, options appended to its build command).
BUILDS = {
    "xlandmark": (14, ("--crops", "2")),
    "resnet18-wflw": (12, ("--out-size", "64")),
    "shapenet-300w": (14, ("--out-size", "64")),
    "xception": (14, ("--out-size", "32")),
    "rccnn-helen": (12, ("--out-size", "64", "--heatmap-size", "16")),
}
#: Model → (preset whose data it trains on, steps, loss must end below this share of its start).
#: log(1 + L2) falls slowly in log units; rccnn's cross-entropy has a floor (the Gaussian
#: targets' entropy, about 4.7 nats per pass at σ = 2.5), so its share is closer to 1.
CASES = {
    "vanilla96": ("xlandmark", 12, 0.7),
    "resnet18": ("resnet18-wflw", 10, 0.8),
    "mobilenetv3": ("resnet18-wflw", 10, 0.8),
    "heatmap": ("resnet18-wflw", 10, 0.9),
    "shapenet": ("shapenet-300w", 12, 0.7),
    "xception": ("xception", 10, 0.7),
    "rccnn": ("rccnn-helen", 10, 0.95),
}


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> None:
    torch.set_num_threads(1)


def build_preset_data(root: Path, preset_name: str) -> Path:
    """``flmprep synth`` + the preset's ``flmprep build`` command (plus BUILDS' options)."""
    preset = get_preset(preset_name)
    n, extra = BUILDS[preset_name]
    runner = CliRunner()
    syn, out = root / "syn", root / "data"
    done = runner.invoke(cli, ["synth", preset.build.dataset, str(syn), "--n", str(n), "--seed", "5"])
    assert done.exit_code == 0, done.output
    argv = [*preset.build.argv(str(syn), str(out)), "--workers", "1", "--no-progress", *extra]
    done = runner.invoke(cli, argv)
    assert done.exit_code == 0, done.output
    return out


@pytest.fixture(scope="module")
def preset_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {name: build_preset_data(tmp_path_factory.mktemp(name), name) for name in BUILDS}


def first_batch(data: Path, spec: ModelSpec, size: int) -> Batch:
    """The first ``size`` training samples, decoded for the model's channels."""
    stream = LandmarkDataset(data, "train", batch_size=size, shuffle=False, drop_last=False, rank=0, world=1,
                             heatmaps=False, channels=spec.channels)
    return next(iter(make_loader(stream, 0, pin_memory=False)))


@pytest.mark.parametrize("model_name", list(CASES))
def test_model_loss_falls_on_its_seed_data(
    model_name: str, preset_data: dict[str, Path], tmp_path: Path
) -> None:
    preset_name, steps, share = CASES[model_name]
    data = preset_data[preset_name]
    cfg = TrainConfig(data=data, model=model_name, output=tmp_path, passes=2)
    manifest = open_dataset(data)
    spec, model = initial_model(model_spec(manifest, cfg), manifest, cfg)
    batch = first_batch(data, spec, 8)
    assert batch.images.shape[-1] == spec.channels
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    history = []
    for _ in range(steps):
        loss = batch_loss(model(prepare_images(batch.images)), batch, spec, cfg.loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(float(loss.detach()))
    assert min(history[-3:]) < share * history[0], history


def test_grey_shards_feed_one_and_three_channel_models(preset_data: dict[str, Path]) -> None:
    data = preset_data["xception"]
    grey = first_batch(data, ModelSpec.of("xception", 68, 32, 32), 4)
    rgb = first_batch(data, ModelSpec.of("resnet18", 68, 32, 32), 4)
    assert tuple(grey.images.shape) == (4, 32, 32, 1) and tuple(rgb.images.shape) == (4, 32, 32, 3)
    for c in range(3):
        torch.testing.assert_close(rgb.images[..., c], grey.images[..., 0], rtol=0, atol=0)
    colour = first_batch(preset_data["xlandmark"], ModelSpec.of("xception", 5, 96, 96), 2)
    assert tuple(colour.images.shape) == (2, 96, 96, 1)  # a colour shard read by a grey model: luma
