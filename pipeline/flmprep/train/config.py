"""The training configuration and the click options shared by ``flmprep train`` and ``-m flmprep.train``.

Imports no torch, so that ``--help`` and option errors are instant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

MODEL_NAMES = ("vanilla96", "resnet18", "heatmap")
LOSS_NAMES = ("mse", "log1p_l2", "wing", "heatmap")
DEFAULT_LOSS = {"vanilla96": "mse", "resnet18": "log1p_l2", "heatmap": "heatmap"}


def check_loss(model: str, loss: str) -> str:
    """The loss to use (the model's default when ``loss`` is empty); raises on a mismatch."""
    loss = loss or DEFAULT_LOSS[model]
    if loss not in LOSS_NAMES:
        raise ValueError(f"unknown loss {loss!r}; expected one of {', '.join(LOSS_NAMES)}")
    if (loss == "heatmap") != (model == "heatmap"):
        raise ValueError(
            f"loss {loss!r} does not fit model {model!r}: heatmap loss goes with the heatmap model only"
        )
    return loss


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on (saved in every checkpoint)."""

    data: Path
    model: str
    output: Path
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1
    loss: str = ""
    workers: int = 2
    shuffle_buffer: int = 1000
    seed: int = 0
    amp: bool = False
    resume: bool = False
    train_split: str = "train"
    val_split: str = ""
    sigma: float = 2.5
    record_keys: bool = False
    source_root: str | None = None

    def __post_init__(self) -> None:
        if self.model not in MODEL_NAMES:
            raise click.BadParameter(
                f"expected one of {', '.join(MODEL_NAMES)}, found {self.model!r}", param_hint="--model"
            )
        if self.optimizer not in ("adam", "sgd"):
            raise click.BadParameter(
                f"expected adam or sgd, found {self.optimizer!r}", param_hint="--optimizer"
            )
        if self.epochs < 1 or self.batch_size < 1 or self.workers < 0:
            raise click.BadParameter(
                "expected epochs >= 1, batch size >= 1, workers >= 0; "
                f"found {self.epochs}, {self.batch_size}, {self.workers}"
            )
        try:
            object.__setattr__(self, "loss", check_loss(self.model, self.loss))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--loss") from exc

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["data"], doc["output"] = str(self.data), str(self.output)
        doc["milestones"] = list(self.milestones)
        return doc


def _milestones(_: click.Context, __: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated epochs like 30,60, found {value!r}") from None


TRAIN_OPTIONS: list[Callable[[F], F]] = [
    click.option(
        "--data",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        required=True,
        help="Built dataset folder (holds manifest.json).",
    ),
    click.option("--model", type=click.Choice(MODEL_NAMES), required=True, help="Model to train."),
    click.option(
        "--output",
        "-o",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("runs/train"),
        show_default=True,
        help="Folder for checkpoints and history.jsonl.",
    ),
    click.option("--epochs", type=int, default=10, show_default=True),
    click.option("--batch-size", type=int, default=64, show_default=True, help="Per rank."),
    click.option("--optimizer", type=click.Choice(["adam", "sgd"]), default="adam", show_default=True),
    click.option("--lr", type=float, default=1e-3, show_default=True, help="Learning rate."),
    click.option("--weight-decay", type=float, default=0.0, show_default=True),
    click.option("--momentum", type=float, default=0.9, show_default=True, help="SGD momentum."),
    click.option(
        "--milestones",
        type=str,
        default="",
        callback=_milestones,
        help="Epochs at which the learning rate is multiplied by --gamma, e.g. 30,60.",
    ),
    click.option("--gamma", type=float, default=0.1, show_default=True),
    click.option(
        "--loss",
        type=click.Choice(["", *LOSS_NAMES]),
        default="",
        help="Default: mse (vanilla96), log1p_l2 (resnet18), heatmap (heatmap).",
    ),
    click.option(
        "--workers", type=int, default=2, show_default=True, help="Loader processes per rank (0: inline)."
    ),
    click.option(
        "--shuffle-buffer", type=int, default=1000, show_default=True, help="Samples; 0 or 1: no shuffle."
    ),
    click.option("--seed", type=int, default=0, show_default=True),
    click.option("--amp", is_flag=True, help="bf16 autocast (GPU, and CPU where torch supports it)."),
    click.option("--resume", is_flag=True, help="Continue from OUTPUT/last.pt (weights, optimizer, epoch)."),
    click.option("--train-split", default="train", show_default=True),
    click.option("--val-split", default="", help="Default: val if the dataset has it, else test."),
    click.option("--sigma", type=float, default=2.5, show_default=True, help="Heatmap σ in heatmap pixels."),
    click.option(
        "--record-keys", is_flag=True, help="Write each rank's sample keys per epoch under OUTPUT/epochs/."
    ),
    click.option(
        "--source-root",
        type=click.Path(exists=True, file_okay=False),
        default=None,
        help="The dataset's native root (images): calibrates Haar face boxes for `flmprep predict`.",
    ),
]


def train_options(func: F) -> F:
    """Decorate a click command with every training option."""
    for option in reversed(TRAIN_OPTIONS):
        func = option(func)
    return func


def from_options(**kwargs: Any) -> TrainConfig:
    """A ``TrainConfig`` from the click keyword arguments."""
    return TrainConfig(**kwargs)
