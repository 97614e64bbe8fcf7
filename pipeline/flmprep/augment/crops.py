"""Crop planning shared by the recipes: landmark extents, rotation of points, and square crops
with scale/shift jitter that can be told to keep every landmark inside."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from flmprep.augment.config import RecipeConfig
from flmprep.augment.params import Box, ViewParams


def extent(points: np.ndarray) -> Box:
    """(x_min, y_min, x_max, y_max) of [K, 2] points."""
    lo = points.min(axis=0)
    hi = points.max(axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def rotate_points(points: np.ndarray, angle: float, pivot: tuple[float, float]) -> np.ndarray:
    """[K, 2] points rotated like ``geometry.rotate(angle, pivot)`` (float64)."""
    if angle == 0.0:
        return np.asarray(points, dtype=np.float64)
    a = math.radians(angle)
    c, s = math.cos(a), math.sin(a)
    d = np.asarray(points, dtype=np.float64) - pivot
    x = c * d[:, 0] + s * d[:, 1] + pivot[0]
    y = -s * d[:, 0] + c * d[:, 1] + pivot[1]
    return np.stack([x, y], axis=1)


def lerp(lo: float, hi: float, u: float) -> float:
    """The point a fraction ``u`` of the way from ``lo`` to ``hi``."""
    return lo + (hi - lo) * u


def clamp(value: float, lo: float, hi: float) -> float:
    return min(max(value, lo), hi)


@dataclass(frozen=True)
class SquareDraw:
    """The jitter of a square crop: ``scale`` factor of the side, ``shift`` (dx, dy) as
    fractions of the side, rotation ``angle`` in degrees, ``flip``."""

    scale: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)
    angle: float = 0.0
    flip: bool = False


def square_view(
    points: np.ndarray,
    points_extent: Box,
    center: tuple[float, float],
    side: float,
    draw: SquareDraw,
    out_size: int,
    keep_inside: bool,
) -> ViewParams:
    """A square crop of side ``side * draw.scale`` about ``center`` (rotation pivot too),
    shifted by ``draw.shift``. With ``keep_inside`` the centre is clamped (and the side grown
    when needed) so that every rotated point lies at least one output pixel inside the crop;
    ``points_extent`` is ``extent(points)``, reused when there is no rotation."""
    side = side * draw.scale
    cx = center[0] + draw.shift[0] * side
    cy = center[1] + draw.shift[1] * side
    if keep_inside:
        rotated = points_extent if draw.angle == 0.0 else extent(rotate_points(points, draw.angle, center))
        x0, y0, x1, y1 = rotated
        needed = max(x1 - x0, y1 - y0) * out_size / max(out_size - 2.0, 1.0)
        side = max(side, needed)
        margin = side / out_size
        cx = clamp(cx, x1 + margin - side / 2, x0 - margin + side / 2)
        cy = clamp(cy, y1 + margin - side / 2, y0 - margin + side / 2)
    half = side / 2
    return ViewParams(
        angle=draw.angle,
        pivot=center,
        box=(cx - half, cy - half, cx + half, cy + half),
        flip=draw.flip,
        scale=draw.scale,
        out_size=(out_size, out_size),
    )


def signed(u: float) -> float:
    """A uniform in [0, 1) mapped onto [-1, 1)."""
    return 2.0 * float(u) - 1.0


def square_about(box: Box, box_scale: float) -> tuple[tuple[float, float], float]:
    """Centre and side of the square ``box_scale`` × the larger side of ``box`` (at least 2)."""
    x0, y0, x1, y1 = box
    side = max(box_scale * max(x1 - x0, y1 - y0), 2.0)
    return ((x0 + x1) / 2, (y0 + y1) / 2), side


def square_draw(config: RecipeConfig, u: Sequence[float] | None) -> SquareDraw:
    """Scale (u0), shift (u1, u2), angle (u3) and flip (u4) from five uniforms; the canonical
    view (no jitter) when ``u`` is None."""
    if u is None:
        return SquareDraw()
    c = config
    return SquareDraw(
        scale=1.0 + c.scale_jitter * signed(u[0]),
        shift=(c.shift_jitter * signed(u[1]), c.shift_jitter * signed(u[2])),
        angle=c.max_angle * signed(u[3]) if c.max_angle else 0.0,
        flip=float(u[4]) < c.flip_prob,
    )
