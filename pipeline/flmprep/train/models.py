"""The three landmark models, in plain torch (no torchvision).

Regression models output K points normalised to [-1, 1] of the input image
(``u = (x + 0.5) · 2 / W - 1``: -1 and 1 are the image's outer pixel edges).
The heatmap model outputs K maps at 1/4 resolution, decoded by a local soft-argmax
(``heatmaps.soft_argmax``) and mapped back to output pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from flmprep.train.config import MODEL_NAMES
from flmprep.train.heatmaps import from_heatmap_coords, soft_argmax

NOMINAL_SIZE = {"vanilla96": 96, "resnet18": 256, "heatmap": 256}


@dataclass(frozen=True)
class ModelSpec:
    """What a checkpoint needs to rebuild a model."""

    name: str
    num_points: int
    width: int
    height: int
    sigma: float = 2.5

    @property
    def kind(self) -> str:
        return "heatmap" if self.name == "heatmap" else "regression"


class TanhAbs(nn.Module):
    """|tanh(x)|: the rectification of the vanilla CNN (Wu & Hassner; xlandmark)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.abs(torch.tanh(x))


def _conv_ta(cin: int, cout: int, k: int, pool: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k), TanhAbs()]
    return [*layers, nn.MaxPool2d(2)] if pool else layers


def _flat_size(features: nn.Module, height: int, width: int) -> int:
    with torch.no_grad():
        return int(features(torch.zeros(1, 3, height, width)).numel())


class Vanilla96(nn.Module):
    """xlandmark's vanilla CNN at 96×96: 4 conv-Tanh-Abs(-pool) stages, linear(100)-Tanh-Abs, linear(2K)."""

    def __init__(self, num_points: int, height: int = 96, width: int = 96) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *_conv_ta(3, 16, 5, True),
            *_conv_ta(16, 48, 3, True),
            *_conv_ta(48, 64, 3, True),
            *_conv_ta(64, 64, 2, False),
            nn.Flatten(),
        )
        self.head = nn.Sequential(
            nn.Linear(_flat_size(self.features, height, width), 100),
            TanhAbs(),
            nn.Linear(100, 2 * num_points),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


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


def _resnet_trunk(widths: tuple[int, ...] = (64, 128, 256, 512)) -> nn.Sequential:
    stem = [
        nn.Conv2d(3, 64, 7, 2, 3, bias=False),
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
    """ResNet-18 regression (ResNet-18 WFLW design): no average pool, flatten → linear(2K)."""

    def __init__(self, num_points: int, height: int = 256, width: int = 256) -> None:
        super().__init__()
        self.features = nn.Sequential(_resnet_trunk(), nn.Flatten())
        self.head = nn.Linear(_flat_size(self.features, height, width), 2 * num_points)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _cbr(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class HeatmapNet(nn.Module):
    """A small encoder-decoder: down to 1/16, up to 1/4 with a skip connection, K maps at 1/4."""

    def __init__(self, num_points: int, width: int = 32) -> None:
        super().__init__()
        w = width
        self.down4 = nn.Sequential(_cbr(3, w, 2), _cbr(w, w), _cbr(w, 2 * w, 2), _cbr(2 * w, 2 * w))
        self.down16 = nn.Sequential(
            _cbr(2 * w, 4 * w, 2), _cbr(4 * w, 4 * w), _cbr(4 * w, 4 * w, 2), _cbr(4 * w, 4 * w)
        )
        self.up = nn.Sequential(
            nn.Upsample(scale_factor=4, mode="bilinear", align_corners=False), _cbr(4 * w, 2 * w)
        )
        self.out = nn.Sequential(_cbr(4 * w, 2 * w), nn.Conv2d(2 * w, num_points, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.down4(x)
        deep = self.up(self.down16(skip))
        deep = deep[..., : skip.shape[-2], : skip.shape[-1]]
        return self.out(torch.cat([skip, deep], dim=1))


def build_model(spec: ModelSpec) -> nn.Module:
    """The model named in ``spec`` for images of its size."""
    if spec.name == "vanilla96":
        return Vanilla96(spec.num_points, spec.height, spec.width)
    if spec.name == "resnet18":
        return ResNet18(spec.num_points, spec.height, spec.width)
    if spec.name == "heatmap":
        if spec.width % 16 or spec.height % 16:
            raise ValueError(
                f"heatmap model: expected image sides divisible by 16, found {spec.width}x{spec.height}"
            )
        return HeatmapNet(spec.num_points)
    raise ValueError(f"unknown model {spec.name!r}; expected one of {', '.join(MODEL_NAMES)}")


def place(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` on ``device`` with channels-last weights (the layout ``prepare_images`` feeds)."""
    return model.to(device).to(memory_format=torch.channels_last)  # type: ignore[call-overload]


def pixels_to_unit(points: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Output pixels [..., 2] → [-1, 1] (pixel edges at ±1)."""
    size = points.new_tensor([width, height])
    return (points + 0.5) * 2.0 / size - 1.0


def unit_to_pixels(points: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """[-1, 1] [..., 2] → output pixels (inverse of ``pixels_to_unit``)."""
    size = points.new_tensor([width, height])
    return (points + 1.0) * size / 2.0 - 0.5


def decode_points(output: torch.Tensor, spec: ModelSpec) -> torch.Tensor:
    """A model's raw output → points [B,K,2] in output pixels (float32)."""
    if spec.kind == "heatmap":
        hm = soft_argmax(output, spec.sigma)
        return from_heatmap_coords(hm, (spec.width, spec.height), (output.shape[-1], output.shape[-2]))
    return unit_to_pixels(output.float().reshape(output.shape[0], -1, 2), spec.width, spec.height)


def prepare_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 [B,H,W,3] on the device → float [B,3,H,W] in [-1, 1] (channels-last memory)."""
    x = images.permute(0, 3, 1, 2).float()
    return x.mul_(2.0 / 255.0).sub_(1.0).contiguous(memory_format=torch.channels_last)
