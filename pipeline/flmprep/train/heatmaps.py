"""Gaussian heatmaps on the device: the torch twin of ``flmprep.targets.render_heatmaps``.

Map value at heatmap pixel (x, y) for a point p: exp(-((x-px)² + (y-py)²) / (2σ²)),
zero for invisible (or non-finite) points. Output pixels map to heatmap pixels by
``x_hm = (x + 0.5) * hm_w / out_w - 0.5`` (pixel centres at integers on both grids).
"""

from __future__ import annotations

import math

import torch


def to_heatmap_coords(
    points: torch.Tensor, out_size: tuple[int, int], hm_size: tuple[int, int]
) -> torch.Tensor:
    """Output-pixel points [..., 2] → heatmap pixels; sizes are (width, height)."""
    scale = points.new_tensor([hm_size[0] / out_size[0], hm_size[1] / out_size[1]])
    return (points + 0.5) * scale - 0.5


def from_heatmap_coords(
    points: torch.Tensor, out_size: tuple[int, int], hm_size: tuple[int, int]
) -> torch.Tensor:
    """Heatmap-pixel points [..., 2] → output pixels (inverse of ``to_heatmap_coords``)."""
    scale = points.new_tensor([out_size[0] / hm_size[0], out_size[1] / hm_size[1]])
    return (points + 0.5) * scale - 0.5


def render_heatmaps(
    points_hm: torch.Tensor, visible: torch.Tensor, size: tuple[int, int], sigma: float = 2.5
) -> torch.Tensor:
    """Maps [B,K,H,W] float32 for points [B,K,2] already in heatmap pixels; ``size`` is (width, height)."""
    width, height = size
    vis = visible.bool() & torch.isfinite(points_hm).all(dim=-1)
    pts = torch.where(vis[..., None], points_hm.float(), 0.0)
    xs = torch.arange(width, device=pts.device, dtype=torch.float32)
    ys = torch.arange(height, device=pts.device, dtype=torch.float32)
    denom = 2.0 * sigma * sigma
    gx = torch.exp(-((xs - pts[..., 0:1]) ** 2) / denom)
    gy = torch.exp(-((ys - pts[..., 1:2]) ** 2) / denom)
    maps = gy.unsqueeze(-1) * gx.unsqueeze(-2)
    return maps * vis.to(maps.dtype)[..., None, None]


def soft_argmax(maps: torch.Tensor, sigma: float) -> torch.Tensor:
    """Local soft-argmax of maps [B,K,H,W] → (x, y) [B,K,2] in heatmap pixels.

    The expectation of relu(map) over a window of radius ceil(3σ) around each map's argmax;
    a map with no positive value there gives its argmax.
    """
    b, k, h, w = maps.shape
    flat = maps.float().reshape(b, k, h * w)
    idx = flat.argmax(dim=-1)
    ix, iy = (idx % w).float(), torch.div(idx, w, rounding_mode="floor").float()
    radius = float(math.ceil(3.0 * sigma))
    xs = torch.arange(w, device=maps.device, dtype=torch.float32)
    ys = torch.arange(h, device=maps.device, dtype=torch.float32)
    in_x = ((xs - ix[..., None]).abs() <= radius).float()
    in_y = ((ys - iy[..., None]).abs() <= radius).float()
    weight = torch.relu(maps.float()) * in_y[..., :, None] * in_x[..., None, :]
    total = weight.sum(dim=(-2, -1))
    safe = total.clamp_min(1e-12)
    x = (weight.sum(dim=-2) * xs).sum(dim=-1) / safe
    y = (weight.sum(dim=-1) * ys).sum(dim=-1) / safe
    found = total > 0
    return torch.stack([torch.where(found, x, ix), torch.where(found, y, iy)], dim=-1)
