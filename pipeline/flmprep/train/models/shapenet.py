"""``shapenet``: a PCA shape model whose parameters a small CNN predicts (seed 002).

Before training, ``fit_shape_model`` runs PCA (numpy SVD) on the training split's landmarks in
output pixels of the views, without rotation normalisation (seed 002 found that normalising
the rotation kept the model from fitting the eyes), keeping the fewest components that explain
``variance`` (default 99 %) of it. The network maps the grey crop to normalised component
scores z (score = z · the component's standard deviation) and a similarity transform
(log-scale, rotation, translation); the fixed ``ShapeLayer`` gives

    shape = s · R(θ) · (mean + Σ scoreᵢ · componentᵢ − c) + c + t,

c being the mean shape's centroid. Mean, components and standard deviations are buffers: they
travel in the checkpoint's weights, so ``build_model(spec)`` + ``load_state_dict`` rebuilds the
model without the data (``spec.components`` gives their count). The head starts at zero: an
untrained model predicts the mean shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from flmprep.train.models.core import pixels_to_unit
from flmprep.train.models.heatmap import cbr
from flmprep.train.models.spec import ModelSpec

#: Similarity parameters after the scores: log-scale, angle (radians), translation x and y.
TRANSFORM_PARAMS = 4
#: Translation output unit: this fraction of the image side.
TRANSLATION_UNIT = 0.25
STAGE_WIDTHS = (32, 64, 128, 128, 256)


@dataclass(frozen=True)
class ShapeModel:
    """A fitted PCA shape model over flattened shapes (x0, y0, x1, y1, …) in output pixels:
    ``mean`` [2K], ``components`` [m, 2K] (orthonormal rows), ``std`` [m] (score standard
    deviations) and ``explained`` (the share of the variance the m components explain)."""

    mean: np.ndarray
    components: np.ndarray
    std: np.ndarray
    explained: float

    def project(self, shapes: np.ndarray) -> np.ndarray:
        """Scores [N, m] of shapes [N, K, 2]."""
        return (shapes.reshape(len(shapes), -1) - self.mean) @ self.components.T

    def reconstruct(self, scores: np.ndarray) -> np.ndarray:
        """Shapes [N, K, 2] of scores [N, m] (no transform)."""
        flat = self.mean + scores @ self.components
        return flat.reshape(len(scores), -1, 2)


def fit_shape_model(shapes: np.ndarray, variance: float = 0.99) -> ShapeModel:
    """PCA of shapes [N, K, 2]: the fewest components explaining ``variance`` of the variance."""
    if not 0.0 < variance <= 1.0:
        raise ValueError(f"PCA variance: expected a share in (0, 1], found {variance}")
    flat = np.asarray(shapes, dtype=np.float64).reshape(len(shapes), -1)
    if len(flat) < 2 or not np.isfinite(flat).all():
        raise ValueError(f"PCA shape model: expected at least 2 finite shapes, found {len(flat)}")
    mean = flat.mean(axis=0)
    _, singular, vt = np.linalg.svd(flat - mean, full_matrices=False)
    var = singular**2 / (len(flat) - 1)
    total = float(var.sum())
    if total <= 0.0:
        raise ValueError(f"PCA shape model: the {len(flat)} shapes are all equal; nothing to model")
    ratio = np.cumsum(var) / total
    rank = int(np.count_nonzero(var > total * 1e-12))
    m = min(int(np.searchsorted(ratio, variance - 1e-12)) + 1, rank)
    return ShapeModel(mean, vt[:m], np.sqrt(var[:m]), float(ratio[m - 1]))


class ShapeLayer(nn.Module):
    """Fixed layer: scores and a similarity transform → shapes [B, K, 2] in output pixels."""

    mean: torch.Tensor
    components: torch.Tensor
    std: torch.Tensor
    centre: torch.Tensor

    def __init__(self, num_points: int, components: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(2 * num_points))
        self.register_buffer("components", torch.zeros(components, 2 * num_points))
        self.register_buffer("std", torch.ones(components))
        self.register_buffer("centre", torch.zeros(2))

    def load_shape_model(self, shape: ShapeModel) -> None:
        """Copy a fitted model into the buffers (its sizes must match this layer's)."""
        if shape.components.shape != tuple(self.components.shape):
            raise ValueError(
                f"shape model: expected components of shape {tuple(self.components.shape)}, "
                f"found {shape.components.shape}"
            )
        self.mean.copy_(torch.from_numpy(shape.mean))
        self.components.copy_(torch.from_numpy(shape.components))
        self.std.copy_(torch.from_numpy(shape.std))
        self.centre.copy_(torch.from_numpy(shape.mean.reshape(-1, 2).mean(axis=0)))

    def forward(
        self, scores: torch.Tensor, log_scale: torch.Tensor, angle: torch.Tensor, shift: torch.Tensor
    ) -> torch.Tensor:
        local = (self.mean + scores @ self.components).reshape(len(scores), -1, 2) - self.centre
        cos, sin = torch.cos(angle), torch.sin(angle)
        rot = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)
        scale = torch.exp(log_scale)[:, None, None]
        return scale * local @ rot.transpose(1, 2) + self.centre + shift[:, None, :]


class ShapeNet(nn.Module):
    """Conv stages (stride 2, BatchNorm, ReLU), global average, linear to m scores + 4
    transform parameters, the shape layer; output [B, 2K] in [-1, 1] like every regression model."""

    def __init__(self, num_points: int, components: int, height: int, width: int, channels: int = 1) -> None:
        super().__init__()
        stages: list[nn.Module] = []
        cin = channels
        for cout in STAGE_WIDTHS:
            stages += [cbr(cin, cout, 2), cbr(cout, cout)]
            cin = cout
        self.features = nn.Sequential(*stages, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(cin, components + TRANSFORM_PARAMS)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.shape = ShapeLayer(num_points, components)
        self.size = (width, height)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raw = self.head(self.features(x))
        with torch.autocast(x.device.type, enabled=False):  # shapes in float32 pixels, even under --amp
            raw = raw.float()
            m = self.shape.components.shape[0]
            scores = raw[:, :m] * self.shape.std
            side = raw.new_tensor(self.size) * TRANSLATION_UNIT
            pixels = self.shape(scores, raw[:, m], raw[:, m + 1], raw[:, m + 2 : m + 4] * side)
            return pixels_to_unit(pixels, *self.size).flatten(1)


def build(spec: ModelSpec) -> nn.Module:
    if spec.components < 1:
        raise ValueError(
            f"shapenet: expected the number of PCA components (>= 1) in the spec, found {spec.components}"
        )
    return ShapeNet(spec.num_points, spec.components, spec.height, spec.width, spec.channels)
