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
    """Read a checkpoint written by ``save``; raises naming the file on a foreign format."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: expected a checkpoint file, found none")
    doc = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise ValueError(f"{path}: expected checkpoint format {FORMAT!r}, found {found!r}")
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
