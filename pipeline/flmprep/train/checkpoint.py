"""Checkpoints: ``best.pt`` (lowest validation loss, as xlandmark picks it) and ``last.pt``.

A checkpoint holds the model spec and weights, optimizer and scheduler state,
the epoch just finished, the best validation loss so far, the run config, and what
``flmprep predict`` needs (``prediction``: recipe, input normalisation, box calibration;
None in checkpoints written before it existed).
Writes go to a temporary file renamed into place, so a crash never leaves half a file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from flmprep.atomic import atomic_output
from flmprep.errors import quoted
from flmprep.train.errors import CheckpointError
from flmprep.train.models import ModelSpec

BEST, LAST = "best.pt", "last.pt"
FORMAT = "flmprep.checkpoint/1"


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint."""

    spec: ModelSpec
    scheme: str
    epoch: int
    best_val_loss: float
    model: dict[str, Any]
    optimizer: dict[str, Any] | None
    scheduler: dict[str, Any] | None
    config: dict[str, Any]
    prediction: dict[str, Any] | None = None


def save(path: Path, ckpt: Checkpoint) -> None:
    """Write ``ckpt`` to ``path`` atomically."""
    doc = {"format": FORMAT, **asdict(ckpt), "spec": asdict(ckpt.spec)}
    with atomic_output(path) as fh:
        torch.save(doc, fh)


def load(path: str | Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint written by ``save``; raises ``CheckpointError`` naming the file on
    anything else (a missing or truncated file, a foreign format, missing fields)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: expected a checkpoint file, found none")
    try:
        doc = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError, zip errors
        raise CheckpointError(f"{path}: expected a flmprep training checkpoint, found a file torch.load "
                              f"refuses ({type(exc).__name__}: {quoted(str(exc), 120)})") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise CheckpointError(f"{path}: expected checkpoint format {FORMAT!r}, found {quoted(repr(found))}")
    try:
        return Checkpoint(
            spec=ModelSpec(**doc["spec"]),
            scheme=doc["scheme"],
            epoch=int(doc["epoch"]),
            best_val_loss=float(doc["best_val_loss"]),
            model=doc["model"],
            optimizer=doc["optimizer"],
            scheduler=doc["scheduler"],
            config=doc["config"],
            prediction=doc.get("prediction"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        found = quoted(repr(exc))
        raise CheckpointError(f"{path}: expected the fields of {FORMAT!r}, found: {found}") from exc


def load_weights(model: torch.nn.Module, ckpt: Checkpoint, path: str | Path) -> None:
    """``ckpt``'s weights into ``model``; raises ``CheckpointError`` naming ``path`` when they do
    not fit (another model, another number of points)."""
    try:
        model.load_state_dict(ckpt.model)
    except (RuntimeError, KeyError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: expected weights of model {ckpt.spec.name!r} that fit it, found: "
                              f"{quoted(first, 160)}") from exc
