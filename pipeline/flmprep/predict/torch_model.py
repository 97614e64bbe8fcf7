"""The torch side of prediction: a checkpoint's model wrapped to output points, and the backend
``Predictor`` calls. Only this module and ``export`` import torch."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from flmprep.predict.errors import PredictError
from flmprep.predict.meta import ModelMeta
from flmprep.train import checkpoint
from flmprep.train.errors import CheckpointError
from flmprep.train.models import ModelSpec, build_model, decode_points, pixels_to_unit


class PointsModel(nn.Module):
    """A landmark model with its output decoded: normalised float input [B,C,H,W] → points
    [B,K,2] in [-1, 1] of the input (``models.pixels_to_unit``: ±1 are the outer pixel edges)."""

    def __init__(self, model: nn.Module, spec: ModelSpec) -> None:
        super().__init__()
        self.model = model
        self.spec = spec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        points = decode_points(self.model(x), self.spec)
        return pixels_to_unit(points, self.spec.width, self.spec.height)


def load(path: str | Path) -> tuple[PointsModel, ModelMeta]:
    """The model of a checkpoint (eval mode, CPU) and its prediction metadata."""
    try:
        ckpt = checkpoint.load(path)
    except CheckpointError as exc:
        raise PredictError(str(exc)) from None
    meta = ModelMeta.from_parts(asdict(ckpt.spec), ckpt.scheme, getattr(ckpt, "prediction", None), str(path))
    model = build_model(ckpt.spec)
    checkpoint.load_weights(model, ckpt, path)
    return PointsModel(model, ckpt.spec).eval(), meta


class TorchBackend:
    """Runs a ``PointsModel`` on float32 NCHW batches (no autograd)."""

    name = "torch"

    def __init__(self, model: PointsModel, threads: int = 0) -> None:
        self.model = model.eval()
        if threads:
            torch.set_num_threads(threads)

    @torch.no_grad()
    def __call__(self, batch: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.model(torch.from_numpy(batch)).numpy()
        return out
