"""``resnet18``: ResNet-18 regression as in seed 001 (256×256 input, average pool removed,
flatten 512·8·8 → linear 2K). Plain torch, no torchvision."""

from __future__ import annotations

import torch
from torch import nn

from flmprep.train.models.core import flat_size
from flmprep.train.models.spec import ModelSpec


class BasicBlock(nn.Module):
    """ResNet basic block: two 3×3 conv-BN, identity or 1×1 projection shortcut."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.short(x))


def resnet18_trunk(channels: int = 3, widths: tuple[int, ...] = (64, 128, 256, 512)) -> nn.Sequential:
    """Stem (7×7/2 conv, BN, ReLU, 3×3/2 max-pool) and the four stages of two basic blocks."""
    stem = [
        nn.Conv2d(channels, 64, 7, 2, 3, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, 1),
    ]
    blocks: list[nn.Module] = []
    cin = 64
    for i, cout in enumerate(widths):
        stride = 1 if i == 0 else 2
        blocks += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
        cin = cout
    return nn.Sequential(*stem, *blocks)


class ResNet18(nn.Module):
    """ResNet-18 trunk, flatten (no average pool), linear 2K."""

    def __init__(self, num_points: int, height: int = 256, width: int = 256, channels: int = 3) -> None:
        super().__init__()
        self.features = nn.Sequential(resnet18_trunk(channels), nn.Flatten())
        self.head = nn.Linear(flat_size(self.features, channels, height, width), 2 * num_points)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build(spec: ModelSpec) -> nn.Module:
    return ResNet18(spec.num_points, spec.height, spec.width, spec.channels)
