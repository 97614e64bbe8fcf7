"""``xception``: the Xception-style network of seed 004, layer for layer as its table.

1×128×128 grey input. Entry block: two 3×3 convolutions (32, 64), then two residual stages of
depthwise-separable convolutions ending in a 3×3/2 max-pool, each with a 1×1/2 convolution
shortcut (64→128 at 64×64, 128→256 at 32×32). Six middle blocks of three
(LeakyReLU, separable 256→256, BatchNorm) with identity shortcuts. Exit block: a 1×1/2
shortcut 256→512 beside (LeakyReLU, separable 256→256, BN, LeakyReLU, separable 256→512, BN,
max-pool), then separable 512→512 and 512→1024 with BN and LeakyReLU, adaptive average pool to
1×1 and dropout. Linear 1024→2K: 2,630,888 parameters for K = 68, as the seed's total.

The table gives neither LeakyReLU's slope nor the dropout rate: torch's default slope (0.01)
and p = 0.2 here. Convolutions other than the shortcuts have no bias (the table's counts).
The forward order of the layers is the table's (the exit block computes its shortcut first),
so forward hooks list the layers in the table's order.
"""

from __future__ import annotations

import torch
from torch import nn

from flmprep.train.models.spec import ModelSpec

DROPOUT = 0.2


class DepthwiseSeparableConv2d(nn.Module):
    """3×3 depthwise convolution (padding 1) then 1×1 pointwise convolution, both without bias."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


def _shortcut(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2), nn.BatchNorm2d(cout))


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(3, stride=2, padding=1)


class EntryBlock(nn.Module):
    """Two plain convolutions, then two separable stages with strided 1×1 shortcuts."""

    def __init__(self, channels: int = 1) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1, bias=False),
            nn.BatchNorm2d(32),
            nn.LeakyReLU(),
            nn.Conv2d(32, 64, 3, padding=1, bias=False),
            nn.BatchNorm2d(64),
            nn.LeakyReLU(),
        )
        self.stage1 = nn.Sequential(
            DepthwiseSeparableConv2d(64, 64),
            nn.BatchNorm2d(64),
            nn.LeakyReLU(),
            DepthwiseSeparableConv2d(64, 128),
            nn.BatchNorm2d(128),
            _pool(),
        )
        self.shortcut1 = _shortcut(64, 128)
        self.stage2 = nn.Sequential(
            nn.LeakyReLU(),
            DepthwiseSeparableConv2d(128, 128),
            nn.BatchNorm2d(128),
            nn.LeakyReLU(),
            DepthwiseSeparableConv2d(128, 256),
            nn.BatchNorm2d(256),
            _pool(),
        )
        self.shortcut2 = _shortcut(128, 256)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = self.stage1(x) + self.shortcut1(x)
        return self.stage2(x) + self.shortcut2(x)


class MiddleBasicBlock(nn.Module):
    """Three (LeakyReLU, separable 256→256, BatchNorm) with an identity shortcut."""

    def __init__(self, width: int = 256) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(3):
            layers += [nn.LeakyReLU(), DepthwiseSeparableConv2d(width, width), nn.BatchNorm2d(width)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + x


class MiddleBlock(nn.Module):
    """Six middle basic blocks."""

    def __init__(self, blocks: int = 6, width: int = 256) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*(MiddleBasicBlock(width) for _ in range(blocks)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


class ExitBlock(nn.Module):
    """Strided shortcut beside a separable stage, two more separable convolutions, pooling."""

    def __init__(self) -> None:
        super().__init__()
        self.shortcut = _shortcut(256, 512)
        self.stage = nn.Sequential(
            nn.LeakyReLU(),
            DepthwiseSeparableConv2d(256, 256),
            nn.BatchNorm2d(256),
            nn.LeakyReLU(),
            DepthwiseSeparableConv2d(256, 512),
            nn.BatchNorm2d(512),
            _pool(),
        )
        self.tail = nn.Sequential(
            DepthwiseSeparableConv2d(512, 512),
            nn.BatchNorm2d(512),
            nn.LeakyReLU(),
            DepthwiseSeparableConv2d(512, 1024),
            nn.BatchNorm2d(1024),
            nn.LeakyReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Dropout(DROPOUT),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.shortcut(x)
        return self.tail(self.stage(x) + residual)


class XceptionNet(nn.Module):
    """Entry, middle and exit blocks, then linear 1024 → 2K."""

    def __init__(self, num_points: int, channels: int = 1) -> None:
        super().__init__()
        self.entry = EntryBlock(channels)
        self.middle = MiddleBlock()
        self.exit = ExitBlock()
        self.head = nn.Linear(1024, 2 * num_points)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.exit(self.middle(self.entry(x)))
        return self.head(torch.flatten(features, 1))


def build(spec: ModelSpec) -> nn.Module:
    return XceptionNet(spec.num_points, spec.channels)
