"""``mobilenetv3``: MobileNetV3-Large (Howard et al., "Searching for MobileNetV3", 2019) as seed
001 uses it: 256×256 input, average pool removed, flatten 960·8·8 → linear 2K (196 for WFLW).

The trunk is the paper's Large configuration: a 3×3/2 stem (16, hard-swish), fifteen
inverted-residual blocks (expand 1×1, depthwise k×k, optional squeeze-excite, project 1×1;
identity shortcut when stride 1 and widths match) and a 1×1 convolution to 960 with
hard-swish. Squeeze-excite: global average, 1×1 to a quarter of the expanded width (rounded to
a multiple of 8), ReLU, 1×1 back, hard-sigmoid. BatchNorm with ε = 0.001, momentum 0.01.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from flmprep.train.models.core import flat_size
from flmprep.train.models.spec import ModelSpec

STEM_WIDTH = 16
LAST_WIDTH = 960


@dataclass(frozen=True)
class Bneck:
    """One inverted-residual block of the Large configuration."""

    cin: int
    kernel: int
    expanded: int
    cout: int
    squeeze_excite: bool
    hard_swish: bool
    stride: int


#: The paper's Table 1 (MobileNetV3-Large): input, kernel, expansion, output, SE, NL (HS?), stride.
LARGE = (
    Bneck(16, 3, 16, 16, False, False, 1),
    Bneck(16, 3, 64, 24, False, False, 2),
    Bneck(24, 3, 72, 24, False, False, 1),
    Bneck(24, 5, 72, 40, True, False, 2),
    Bneck(40, 5, 120, 40, True, False, 1),
    Bneck(40, 5, 120, 40, True, False, 1),
    Bneck(40, 3, 240, 80, False, True, 2),
    Bneck(80, 3, 200, 80, False, True, 1),
    Bneck(80, 3, 184, 80, False, True, 1),
    Bneck(80, 3, 184, 80, False, True, 1),
    Bneck(80, 3, 480, 112, True, True, 1),
    Bneck(112, 3, 672, 112, True, True, 1),
    Bneck(112, 5, 672, 160, True, True, 2),
    Bneck(160, 5, 960, 160, True, True, 1),
    Bneck(160, 5, 960, 160, True, True, 1),
)


def make_divisible(value: float, divisor: int = 8) -> int:
    """``value`` rounded to the nearest multiple of ``divisor``, never below 90 % of it."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def conv_bn(
    cin: int, cout: int, kernel: int, stride: int, groups: int, act: nn.Module | None
) -> nn.Sequential:
    """Convolution (no bias, same padding), BatchNorm, optional activation."""
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout, eps=0.001, momentum=0.01),
    ]
    return nn.Sequential(*layers, act) if act is not None else nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    """Channel attention: average pool, 1×1 squeeze, ReLU, 1×1 excite, hard-sigmoid, rescale."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        squeezed = make_divisible(channels / 4)
        self.squeeze = nn.Conv2d(channels, squeezed, 1)
        self.excite = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = torch.nn.functional.adaptive_avg_pool2d(x, 1)
        scale = self.excite(torch.relu(self.squeeze(scale)))
        return x * torch.nn.functional.hardsigmoid(scale)


class InvertedResidual(nn.Module):
    """Expand (when wider), depthwise, squeeze-excite (optional), project; residual when it fits."""

    def __init__(self, cfg: Bneck) -> None:
        super().__init__()

        def act() -> nn.Module:
            return nn.Hardswish() if cfg.hard_swish else nn.ReLU()

        layers: list[nn.Module] = []
        if cfg.expanded != cfg.cin:
            layers.append(conv_bn(cfg.cin, cfg.expanded, 1, 1, 1, act()))
        layers.append(conv_bn(cfg.expanded, cfg.expanded, cfg.kernel, cfg.stride, cfg.expanded, act()))
        if cfg.squeeze_excite:
            layers.append(SqueezeExcite(cfg.expanded))
        layers.append(conv_bn(cfg.expanded, cfg.cout, 1, 1, 1, None))
        self.body = nn.Sequential(*layers)
        self.residual = cfg.stride == 1 and cfg.cin == cfg.cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


def mobilenetv3_large_trunk(channels: int = 3) -> nn.Sequential:
    """Stem, the fifteen blocks of ``LARGE`` and the 1×1 convolution to 960 (output stride 32)."""
    return nn.Sequential(
        conv_bn(channels, STEM_WIDTH, 3, 2, 1, nn.Hardswish()),
        *(InvertedResidual(cfg) for cfg in LARGE),
        conv_bn(LARGE[-1].cout, LAST_WIDTH, 1, 1, 1, nn.Hardswish()),
    )


class MobileNetV3Large(nn.Module):
    """The Large trunk, flatten (no average pool), linear 2K."""

    def __init__(self, num_points: int, height: int = 256, width: int = 256, channels: int = 3) -> None:
        super().__init__()
        self.features = nn.Sequential(mobilenetv3_large_trunk(channels), nn.Flatten())
        self.head = nn.Linear(flat_size(self.features, channels, height, width), 2 * num_points)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build(spec: ModelSpec) -> nn.Module:
    return MobileNetV3Large(spec.num_points, spec.height, spec.width, spec.channels)
