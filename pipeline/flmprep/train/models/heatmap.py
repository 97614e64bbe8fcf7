"""``heatmap``: a small encoder-decoder giving K Gaussian heatmaps at 1/4 resolution
(decoded by ``heatmaps.soft_argmax``). No seed: flmprep's own heatmap baseline."""

from __future__ import annotations

import torch
from torch import nn

from flmprep.train.models.spec import ModelSpec


def cbr(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    """3×3 conv (no bias), BatchNorm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class HeatmapNet(nn.Module):
    """Down to 1/16, up to 1/4 with a skip connection, K maps at 1/4."""

    def __init__(self, num_points: int, width: int = 32, channels: int = 3) -> None:
        super().__init__()
        w = width
        self.down4 = nn.Sequential(cbr(channels, w, 2), cbr(w, w), cbr(w, 2 * w, 2), cbr(2 * w, 2 * w))
        self.down16 = nn.Sequential(
            cbr(2 * w, 4 * w, 2), cbr(4 * w, 4 * w), cbr(4 * w, 4 * w, 2), cbr(4 * w, 4 * w)
        )
        self.up = nn.Sequential(
            nn.Upsample(scale_factor=4, mode="bilinear", align_corners=False), cbr(4 * w, 2 * w)
        )
        self.out = nn.Sequential(cbr(4 * w, 2 * w), nn.Conv2d(2 * w, num_points, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.down4(x)
        deep = self.up(self.down16(skip))
        deep = deep[..., : skip.shape[-2], : skip.shape[-1]]
        return self.out(torch.cat([skip, deep], dim=1))


def build(spec: ModelSpec) -> nn.Module:
    if spec.width % 16 or spec.height % 16:
        raise ValueError(
            f"heatmap model: expected image sides divisible by 16, found {spec.width}x{spec.height}"
        )
    return HeatmapNet(spec.num_points, channels=spec.channels)
