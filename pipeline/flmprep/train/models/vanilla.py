"""``vanilla96``: xlandmark's VanillaCNN at 96×96 (seed 000), layer for layer.

The seed's list: conv 5×5 pad 2 (3→16), Tanh, Abs, max-pool 2; conv 3×3 pad 1 (16→48),
Tanh, Abs, max-pool 2; conv 3×3 (48→64), Tanh, Abs, max-pool 3×3 stride 2; conv 2×2
(64→64), Tanh, Abs; view; Linear(6400→1024), Tanh, Abs; Linear(1024→2K). Convolutions have
no bias. The 3×3 pool rounds up (Torch7's cudnn pooling here; ``ceil_mode``), which gives
the seed's 10·10·64 = 6400 features at 96×96: 6,617,018 parameters for K = 5. Other input
sizes work too (the first linear layer is sized from the input).
"""

from __future__ import annotations

import torch
from torch import nn

from flmprep.train.models.core import flat_size
from flmprep.train.models.spec import ModelSpec


class Abs(nn.Module):
    """|x| (Torch7's ``nn.Abs``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.abs(x)


def _stage(cin: int, cout: int, kernel: int, padding: int, pool: nn.Module | None) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, padding=padding, bias=False), nn.Tanh(), Abs()]
    return [*layers, pool] if pool is not None else layers


class Vanilla96(nn.Module):
    """The 20 layers of seed 000, as ``features`` (1–16) and ``head`` (17–20)."""

    def __init__(self, num_points: int, height: int = 96, width: int = 96, channels: int = 3) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *_stage(channels, 16, 5, 2, nn.MaxPool2d(2, 2)),
            *_stage(16, 48, 3, 1, nn.MaxPool2d(2, 2)),
            *_stage(48, 64, 3, 0, nn.MaxPool2d(3, 2, ceil_mode=True)),
            *_stage(64, 64, 2, 0, None),
            nn.Flatten(),
        )
        self.head = nn.Sequential(
            nn.Linear(flat_size(self.features, channels, height, width), 1024),
            nn.Tanh(),
            Abs(),
            nn.Linear(1024, 2 * num_points),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build(spec: ModelSpec) -> nn.Module:
    return Vanilla96(spec.num_points, spec.height, spec.width, spec.channels)
