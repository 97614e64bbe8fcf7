"""``rccnn``: a recurrent cascade of a heatmap module and a regression module (seed 003).

A shared encoder maps the image to features F at 1/4 resolution. Each of R recurrent passes
(``spec.passes``; 0 means ``DEFAULT_PASSES``, 3) runs the same two modules again:

- heatmap module: (F, the previous pass's maps) → K heatmap logits at 1/4 resolution;
- regression module: (F, this pass's maps) → 2K coordinates in [-1, 1].

The maps passed on are each point's spatial softmax scaled to peak 1 (zero before the first
pass). The output holds every pass (``CascadeOutput``), so that the loss is taken after each
pass (``losses.cascade``: heatmap cross-entropy against normalised Gaussians of σ =
``spec.sigma`` heatmap pixels, plus the coordinates' MSE); the last pass's points are the
estimate.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from flmprep.train.models.heatmap import cbr
from flmprep.train.models.registry import DEFAULT_PASSES
from flmprep.train.models.spec import ModelSpec

FEATURES = 64
#: The regression module's spatial grid before its linear layer.
REGRESSION_GRID = 4


class CascadeOutput(NamedTuple):
    """Every pass's heatmap logits [R, B, K, h, w] and points [R, B, 2K] (in [-1, 1])."""

    heatmaps: torch.Tensor
    points: torch.Tensor


def peak_normalised(logits: torch.Tensor) -> torch.Tensor:
    """Each map's spatial softmax divided by its maximum (values in (0, 1], peak 1)."""
    b, k, h, w = logits.shape
    prob = torch.softmax(logits.float().reshape(b, k, h * w), dim=-1)
    return (prob / prob.amax(dim=-1, keepdim=True)).reshape(b, k, h, w).to(logits.dtype)


class RCCNN(nn.Module):
    """Encoder to 1/4, then R passes of the shared heatmap and regression modules."""

    def __init__(self, num_points: int, passes: int = 3, channels: int = 3) -> None:
        super().__init__()
        if passes < 1:
            raise ValueError(f"rccnn: expected passes >= 1, found {passes}")
        f, k = FEATURES, num_points
        self.passes, self.num_points = passes, k
        half = f // 2
        self.encoder = nn.Sequential(cbr(channels, half, 2), cbr(half, half), cbr(half, f, 2), cbr(f, f))
        self.heatmap = nn.Sequential(cbr(f + k, f), cbr(f, f), nn.Conv2d(f, k, 1))
        self.regression = nn.Sequential(
            cbr(f + k, f, 2),
            cbr(f, f, 2),
            nn.AdaptiveAvgPool2d(REGRESSION_GRID),
            nn.Flatten(),
            nn.Linear(f * REGRESSION_GRID**2, 2 * k),
        )

    def forward(self, x: torch.Tensor) -> CascadeOutput:
        features = self.encoder(x)
        b, _, h, w = features.shape
        maps = features.new_zeros(b, self.num_points, h, w)
        all_maps, all_points = [], []
        for _ in range(self.passes):
            logits = self.heatmap(torch.cat([features, maps], dim=1))
            maps = peak_normalised(logits)
            all_maps.append(logits)
            all_points.append(self.regression(torch.cat([features, maps], dim=1)))
        return CascadeOutput(torch.stack(all_maps), torch.stack(all_points))


def build(spec: ModelSpec) -> nn.Module:
    if spec.width % 4 or spec.height % 4:
        raise ValueError(f"rccnn: expected image sides divisible by 4, found {spec.width}x{spec.height}")
    return RCCNN(spec.num_points, spec.passes or DEFAULT_PASSES, spec.channels)
