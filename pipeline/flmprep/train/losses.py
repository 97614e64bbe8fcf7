"""Training losses.

Regression losses take predicted and true points in output pixels [B,K,2]:
``mse`` on coordinates normalised to [-1, 1] (xlandmark), ``log1p_l2`` =
mean over samples of log(1 + ‖Δ‖₂) with Δ the sample's 2K-vector of pixel
errors (ResNet-18 WFLW design), ``wing`` per coordinate in pixels with w=10,
ε=2 (Feng et al., CVPR 2018). ``heatmap`` is the mean squared error between
predicted maps and Gaussian targets rendered from the true points.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


def mse(pred: torch.Tensor, target: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Mean squared error of coordinates normalised to [-1, 1]; ``size`` is (width, height)."""
    half = pred.new_tensor([size[0] / 2.0, size[1] / 2.0])
    return (((pred - target) / half) ** 2).mean()


def log1p_l2(pred: torch.Tensor, target: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Mean over samples of log(1 + L2 norm of the pixel error vector)."""
    del size
    dist = (pred - target).flatten(1).norm(dim=1)
    return torch.log1p(dist).mean()


def wing(
    pred: torch.Tensor, target: torch.Tensor, size: tuple[int, int], w: float = 10.0, eps: float = 2.0
) -> torch.Tensor:
    """Wing loss per pixel coordinate: w·ln(1 + |x|/ε) below w, |x| - C above (continuous at w)."""
    del size
    x = (pred - target).abs()
    c = w - w * math.log1p(w / eps)
    return torch.where(x < w, w * torch.log1p(x / eps), x - c).mean()


def heatmap_mse(pred_maps: torch.Tensor, target_maps: torch.Tensor) -> torch.Tensor:
    """Mean squared error between predicted and target heatmaps [B,K,h,w]."""
    return ((pred_maps.float() - target_maps) ** 2).mean()


RegressionLoss = Callable[[torch.Tensor, torch.Tensor, tuple[int, int]], torch.Tensor]
REGRESSION: dict[str, RegressionLoss] = {"mse": mse, "log1p_l2": log1p_l2, "wing": wing}
