"""Training losses.

Regression losses take predicted and true points in output pixels [B,K,2]:
``mse`` on coordinates normalised to [-1, 1] (xlandmark), ``log1p_l2`` =
mean over samples of log(1 + ‖Δ‖₂) with Δ the sample's 2K-vector of pixel
errors (ResNet-18 WFLW design), ``wing`` per coordinate in pixels with w=10,
ε=2 (Feng et al., CVPR 2018). ``heatmap`` is the mean squared error between
predicted maps and Gaussian targets rendered from the true points. ``cascade`` (rccnn, seed
003) is, summed over the recurrent passes, the heatmap cross-entropy (each point's spatial
softmax against its Gaussian target normalised to sum 1) plus the coordinates' ``mse``.
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


def heatmap_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over points with a target of -Σ t·log softmax(logits) over each map's pixels, t being
    the target map [B,K,h,w] normalised to sum 1; all-zero targets (invisible points) are left out."""
    b, k, h, w = logits.shape
    log_prob = torch.log_softmax(logits.float().reshape(b, k, h * w), dim=-1)
    mass = targets.reshape(b, k, h * w).sum(dim=-1)
    dist = targets.reshape(b, k, h * w) / mass.clamp_min(1e-12)[..., None]
    per_point = -(dist * log_prob).sum(dim=-1)
    has_target = (mass > 0).to(per_point.dtype)
    return (per_point * has_target).sum() / has_target.sum().clamp_min(1.0)


def cascade(
    heatmaps: torch.Tensor,
    points: torch.Tensor,
    target_maps: torch.Tensor,
    target_points: torch.Tensor,
    size: tuple[int, int],
) -> torch.Tensor:
    """Σ over passes r of heatmap_cross_entropy(heatmaps[r]) + mse(points[r]): ``heatmaps``
    [R,B,K,h,w] logits, ``points`` [R,B,K,2] and ``target_points`` [B,K,2] in output pixels."""
    total = heatmaps.new_zeros((), dtype=torch.float32)
    for maps, pts in zip(heatmaps, points, strict=True):
        total = total + heatmap_cross_entropy(maps, target_maps) + mse(pts, target_points, size)
    return total


RegressionLoss = Callable[[torch.Tensor, torch.Tensor, tuple[int, int]], torch.Tensor]
REGRESSION: dict[str, RegressionLoss] = {"mse": mse, "log1p_l2": log1p_l2, "wing": wing}
