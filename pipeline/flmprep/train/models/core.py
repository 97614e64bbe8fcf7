"""Building a model from its spec, and the conventions every model shares.

Regression models output K points normalised to [-1, 1] of the input image
(``u = (x + 0.5) · 2 / W - 1``: -1 and 1 are the image's outer pixel edges).
The heatmap model outputs K maps at 1/4 resolution, decoded by a local soft-argmax
(``heatmaps.soft_argmax``) and mapped back to output pixels; ``rccnn`` outputs the maps
and the points of every recurrent pass (``rccnn.CascadeOutput``), its last pass's points
being its estimate.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from flmprep.train.heatmaps import from_heatmap_coords, soft_argmax
from flmprep.train.models.registry import model_info
from flmprep.train.models.spec import ModelSpec


def build_model(spec: ModelSpec) -> nn.Module:
    """The model named in ``spec`` for images of its size (untrained; a checkpoint's weights,
    PCA buffers included, load into it with ``load_state_dict``)."""
    info = model_info(spec.name)
    module_name, function = info.builder.split(":")
    builder: Callable[[ModelSpec], nn.Module] = getattr(importlib.import_module(module_name), function)
    return builder(spec)


def count_parameters(model: nn.Module) -> int:
    """Learnable parameters (buffers such as BatchNorm statistics or PCA components excluded)."""
    return sum(p.numel() for p in model.parameters())


def flat_size(features: nn.Module, channels: int, height: int, width: int) -> int:
    """The number of features ``features`` gives for one image (a dry forward pass)."""
    with torch.no_grad():
        return int(features(torch.zeros(1, channels, height, width)).numel())


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


def decode_points(output: Any, spec: ModelSpec) -> torch.Tensor:
    """A model's raw output → points [B,K,2] in output pixels (float32)."""
    if spec.kind == "cascade":
        output = output.points[-1]
    if spec.kind == "heatmap":
        hm = soft_argmax(output, spec.sigma)
        return from_heatmap_coords(hm, (spec.width, spec.height), (output.shape[-1], output.shape[-2]))
    return unit_to_pixels(output.float().reshape(output.shape[0], -1, 2), spec.width, spec.height)


def prepare_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 [B,H,W,C] on the device → float [B,C,H,W] in [-1, 1] (channels-last memory)."""
    x = images.permute(0, 3, 1, 2).float()
    return x.mul_(2.0 / 255.0).sub_(1.0).contiguous(memory_format=torch.channels_last)
