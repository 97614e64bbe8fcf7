"""One trained checkpoint for the predict tests (session-scoped): ``flmprep synth celeba`` (300
images), ``flmprep build`` with ±20 % shift and scale jitter (3 crops), ``vanilla96`` trained for
16 epochs (enough for three passes from true boxes to reach the shards' NME) with the Haar
calibration on the synthetic images."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from flmprep.cli import main as cli


@dataclass(frozen=True)
class TrainedCeleba:
    root: Path  # the synthetic native dataset
    data: Path  # its built shards
    checkpoint: Path


def _invoke(args: list[str]) -> None:
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output


@pytest.fixture(scope="session")
def trained_celeba(tmp_path_factory: pytest.TempPathFactory) -> TrainedCeleba:
    import torch

    from flmprep.inference import calibration
    from flmprep.train.config import TrainConfig
    from flmprep.train.loop import run

    torch.set_num_threads(1)
    base = tmp_path_factory.mktemp("predict")
    root, data = base / "syn", base / "data"
    _invoke(["synth", "celeba", str(root), "--n", "300", "--seed", "3"])
    _invoke(["build", "--dataset", "celeba", "--root", str(root), "--out", str(data), "--crops", "3",
             "--shift-jitter", "0.2", "--scale-jitter", "0.2", "--samples-per-shard", "160"])
    limit, calibration.HAAR_IMAGES = calibration.HAAR_IMAGES, 40
    try:
        cfg = TrainConfig(data=data, model="vanilla96", output=base / "run", epochs=16, batch_size=32,
                          workers=0, shuffle_buffer=200, lr=2e-3, source_root=str(root))
        run(cfg)
    finally:
        calibration.HAAR_IMAGES = limit
    return TrainedCeleba(root, data, base / "run" / "best.pt")
