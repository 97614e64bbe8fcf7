"""The torch side of prediction: a checkpoint's model wrapped to output points, its input spec,
and the backend ``Predictor`` calls. Only this module and ``training``/``export`` import torch."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from flmprep.predict.errors import PredictError
from flmprep.predict.meta import InputSpec, ModelMeta
from flmprep.train import checkpoint
from flmprep.train.models import ModelSpec, build_model, decode_points, pixels_to_unit, prepare_images


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


def input_spec(spec: ModelSpec) -> InputSpec:
    """The input the trainer feeds ``spec``'s model, read off ``models.prepare_images`` itself
    (black and white images in, their values out), so prediction normalises as training did."""
    pixels = torch.zeros((2, spec.height, spec.width, spec.channels), dtype=torch.uint8)
    pixels[1] = 255
    out = prepare_images(pixels)
    low, high = float(out[0].flatten()[0]), float(out[1].flatten()[0])
    std = 255.0 / (high - low)
    return InputSpec(int(out.shape[1]), int(out.shape[2]), int(out.shape[3]), -low * std, std)


def load(path: str | Path) -> tuple[PointsModel, ModelMeta]:
    """The model of a checkpoint (eval mode, CPU) and its prediction metadata."""
    try:
        ckpt = checkpoint.load(path)
    except (FileNotFoundError, ValueError) as exc:
        raise PredictError(str(exc)) from None
    meta = ModelMeta.from_parts(asdict(ckpt.spec), ckpt.scheme, getattr(ckpt, "prediction", None), str(path))
    model = build_model(ckpt.spec)
    model.load_state_dict(ckpt.model)
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
