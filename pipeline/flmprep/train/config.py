"""The training configuration and the click options of ``flmprep train``, ``-m flmprep.train``
and ``flmprep evaluate`` (one definition each; ``options(*names)`` picks them).

``--preset NAME`` fills every option not given explicitly (click's parameter source says which
were) from a seed preset (``flmprep.train.presets``). Imports no torch, so that ``--help``,
``--list-presets`` and option errors are instant.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from flmprep.train import presets
from flmprep.train.models.registry import (
    DEFAULT_PASSES,
    DEFAULT_PCA_VARIANCE,
    LOSS_NAMES,
    MODEL_NAMES,
    MODELS,
    check_loss,
)

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_LOSS = {name: info.loss for name, info in MODELS.items()}
#: Where a value counts as given by the user (not a default).
EXPLICIT_SOURCES = frozenset(
    {ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT, ParameterSource.PROMPT}
)


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
    passes: int = DEFAULT_PASSES
    pca_variance: float = DEFAULT_PCA_VARIANCE
    source_root: str | None = None
    max_corrupt: int = 10
    preset: str = ""

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
        if self.max_corrupt < 0:
            raise click.BadParameter(
                f"expected a count >= 0, found {self.max_corrupt}", param_hint="--max-corrupt"
            )
        if self.passes < 1:
            raise click.BadParameter(f"expected passes >= 1, found {self.passes}", param_hint="--passes")
        if not 0.0 < self.pca_variance <= 1.0:
            raise click.BadParameter(
                f"expected a share in (0, 1], found {self.pca_variance}", param_hint="--pca-variance"
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


def _milestones(_: click.Context, __: click.Parameter, value: str | tuple[int, ...]) -> tuple[int, ...]:
    if isinstance(value, tuple):
        return value
    try:
        return tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated epochs like 30,60, found {value!r}") from None


def _list_presets(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    blocks = ["\n".join(presets.describe(p)) for p in presets.PRESETS.values()]
    click.echo("\n\n".join(blocks))
    ctx.exit(0)


_LOSS_HELP = ", ".join(f"{loss} ({model})" for model, loss in DEFAULT_LOSS.items())

#: Every option, by the keyword it passes; commands take the ones they need with ``options``.
OPTIONS: dict[str, Callable[[F], F]] = {
    "data": click.option(
        "--data",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        required=True,
        help="Built dataset folder (holds manifest.json).",
    ),
    "preset": click.option(
        "--preset",
        type=click.Choice(presets.PRESET_NAMES),
        default=None,
        help="A seed system's set-up (model, loss, optimizer, lr, batch size, epochs, milestones); "
        "options given explicitly win. See --list-presets.",
    ),
    "list_presets": click.option(
        "--list-presets",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_list_presets,
        help="Print every preset with its values, their sources and its build command, then exit.",
    ),
    "model": click.option(
        "--model", type=click.Choice(MODEL_NAMES), default=None, help="Model to train (or --preset)."
    ),
    "output": click.option(
        "--output",
        "-o",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("runs/train"),
        show_default=True,
        help="Folder for checkpoints and history.jsonl.",
    ),
    "epochs": click.option("--epochs", type=int, default=10, show_default=True),
    "batch_size": click.option("--batch-size", type=int, default=64, show_default=True, help="Per rank."),
    "optimizer": click.option(
        "--optimizer", type=click.Choice(["adam", "sgd"]), default="adam", show_default=True
    ),
    "lr": click.option("--lr", type=float, default=1e-3, show_default=True, help="Learning rate."),
    "weight_decay": click.option("--weight-decay", type=float, default=0.0, show_default=True),
    "momentum": click.option("--momentum", type=float, default=0.9, show_default=True, help="SGD momentum."),
    "milestones": click.option(
        "--milestones",
        type=str,
        default="",
        callback=_milestones,
        help="Epochs at which the learning rate is multiplied by --gamma, e.g. 30,60.",
    ),
    "gamma": click.option("--gamma", type=float, default=0.1, show_default=True),
    "loss": click.option(
        "--loss", type=click.Choice(["", *LOSS_NAMES]), default="", help=f"Default: {_LOSS_HELP}."
    ),
    "workers": click.option(
        "--workers", type=int, default=2, show_default=True, help="Loader processes per rank (0: inline)."
    ),
    "shuffle_buffer": click.option(
        "--shuffle-buffer", type=int, default=1000, show_default=True, help="Samples; 0 or 1: no shuffle."
    ),
    "seed": click.option("--seed", type=int, default=0, show_default=True),
    "amp": click.option("--amp", is_flag=True, help="bf16 autocast (GPU, and CPU where torch supports it)."),
    "resume": click.option(
        "--resume", is_flag=True, help="Continue from OUTPUT/last.pt (weights, optimizer, epoch)."
    ),
    "train_split": click.option("--train-split", default="train", show_default=True),
    "val_split": click.option(
        "--val-split", default="", help="Default: val if the dataset has it, else test."
    ),
    "sigma": click.option(
        "--sigma", type=float, default=2.5, show_default=True, help="Heatmap σ in heatmap pixels."
    ),
    "passes": click.option(
        "--passes", type=int, default=DEFAULT_PASSES, show_default=True, help="rccnn: recurrent passes."
    ),
    "pca_variance": click.option(
        "--pca-variance",
        type=float,
        default=DEFAULT_PCA_VARIANCE,
        show_default=True,
        help="shapenet: share of the landmark variance the PCA components explain.",
    ),
    "record_keys": click.option(
        "--record-keys", is_flag=True, help="Write each rank's sample keys per epoch under OUTPUT/epochs/."
    ),
    "max_corrupt": click.option(
        "--max-corrupt",
        type=int,
        default=10,
        show_default=True,
        help="Corrupt samples (undecodable image or JSON) skipped per epoch and rank, or in one validation, "
        "before the run stops.",
    ),
    "source_root": click.option(
        "--source-root",
        type=click.Path(exists=True, file_okay=False),
        default=None,
        help="The dataset's native root (images): calibrates Haar face boxes for `flmprep predict`.",
    ),
}
TRAIN_OPTION_NAMES = tuple(OPTIONS)


def options(*names: str) -> Callable[[F], F]:
    """A decorator adding the named options (``OPTIONS`` keys), in that order."""

    def decorate(func: F) -> F:
        for name in reversed(names):
            func = OPTIONS[name](func)
        return func

    return decorate


def train_options(func: F) -> F:
    """Decorate a click command with every training option."""
    return options(*TRAIN_OPTION_NAMES)(func)


def explicit_options(ctx: click.Context) -> frozenset[str]:
    """The parameters the user gave (command line, environment or prompt), by keyword."""
    return frozenset(
        p.name for p in ctx.command.params if p.name and ctx.get_parameter_source(p.name) in EXPLICIT_SOURCES
    )


def from_options(explicit: Collection[str] = (), **kwargs: Any) -> TrainConfig:
    """A ``TrainConfig`` from the click keyword arguments: a ``preset``'s values replace every
    option not in ``explicit``."""
    name = kwargs.pop("preset", None) or ""
    if name:
        kwargs = presets.get_preset(name).resolve(kwargs, explicit)
    if not kwargs.get("model"):
        raise click.BadParameter(
            f"expected --model or --preset, found neither (models: {', '.join(MODEL_NAMES)})",
            param_hint="--model",
        )
    return TrainConfig(preset=name, **kwargs)
