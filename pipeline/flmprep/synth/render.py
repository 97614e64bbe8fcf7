"""Render face-like synthetic images: a smooth grey scene, soft face shapes, colour marks.

The scene is strictly grey (R = G = B) so the marks' chroma is theirs alone (see ``marks``).
It is evaluated on a grid 4x coarser than the image and resized bilinearly: smooth by design.
"""

from __future__ import annotations

import cv2
import numpy as np

from flmprep.synth.faces import FacePose
from flmprep.synth.marks import draw_marks

# (centre x, centre y, radius x, radius y, grey change) in the face frame
_FEATURES = (
    (0.0, 0.1, 1.35, 1.55, 40.0),  # face (its soft edge lies outside the jaw line)
    (-0.4, -0.25, 0.24, 0.13, -14.0),  # image-left eye
    (0.4, -0.25, 0.24, 0.13, -14.0),
    (-0.45, -0.46, 0.36, 0.11, -14.0),  # brows
    (0.45, -0.46, 0.36, 0.11, -14.0),
    (0.0, 0.57, 0.38, 0.18, -12.0),  # mouth
    (0.0, 0.05, 0.14, 0.32, 6.0),  # nose ridge
)
_EDGE = 0.7  # softness of a feature's edge, as a fraction of its radius
_COARSE = 4  # the scene is evaluated on a grid this many times coarser


class Grid:
    """Pixel-centre coordinates of a coarse grid that ``cv2.resize`` maps onto width x height."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        cw, ch = -(-width // _COARSE), -(-height // _COARSE)
        xs = (np.arange(cw) + 0.5) * (width / cw) - 0.5
        ys = (np.arange(ch) + 0.5) * (height / ch) - 0.5
        self.xx, self.yy = np.meshgrid(xs, ys)

    def upsample(self, field: np.ndarray) -> np.ndarray:
        return cv2.resize(field, (self.width, self.height), interpolation=cv2.INTER_LINEAR)


def background(rng: np.random.Generator, grid: Grid) -> np.ndarray:
    """A smooth grey scene on ``grid``: a level, a linear gradient and a few broad blobs."""
    w, h = grid.width, grid.height
    angle = rng.uniform(0.0, 2.0 * np.pi)
    ramp = (np.cos(angle) * (grid.xx / w - 0.5) + np.sin(angle) * (grid.yy / h - 0.5)) * rng.uniform(-60, 60)
    grey = rng.uniform(80.0, 150.0) + ramp
    for _ in range(int(rng.integers(2, 5))):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        sigma = rng.uniform(0.15, 0.45) * max(w, h)
        grey += rng.uniform(-30, 30) * np.exp(
            -((grid.xx - cx) ** 2 + (grid.yy - cy) ** 2) / (2 * sigma * sigma)
        )
    return grey


def paint_face(grey: np.ndarray, grid: Grid, pose: FacePose) -> None:
    """Add soft face, eye, brow, mouth and nose shapes for one face to ``grey`` (on ``grid``)."""
    m = pose.matrix()
    inv = np.linalg.inv(m[:, :2])
    dx, dy = grid.xx - m[0, 2], grid.yy - m[1, 2]
    near = dx * dx + dy * dy < (2.2 * pose.scale) ** 2
    u = inv[0, 0] * dx[near] + inv[0, 1] * dy[near]
    v = inv[1, 0] * dx[near] + inv[1, 1] * dy[near]
    add = np.zeros_like(u)
    for cx, cy, rx, ry, delta in _FEATURES:
        dist = np.sqrt(((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2)
        t = np.clip((1.0 - dist) / _EDGE, 0.0, 1.0)
        add += delta * t * t * (3.0 - 2.0 * t)
    grey[near] += add


def fit_range(grey: np.ndarray, lo: float = 24.0, hi: float = 231.0) -> np.ndarray:
    """Squeeze the scene linearly into [lo, hi] when it leaves it: never clipped, still smooth."""
    g_min, g_max = float(grey.min()), float(grey.max())
    if g_min >= lo and g_max <= hi:
        return grey
    if g_max - g_min <= hi - lo:  # a shift is enough
        return grey + max(lo - g_min, 0.0) - max(g_max - hi, 0.0)
    return lo + (grey - g_min) * ((hi - lo) / (g_max - g_min))


def compose(grey: np.ndarray, marks: list[tuple[np.ndarray, np.ndarray]], num_points: int) -> np.ndarray:
    """The final RGB uint8 image: the grey scene with each face's marks (points, radii) blended in."""
    level = np.clip(grey, 0.0, 255.0).astype(np.float32)
    canvas = np.empty((*level.shape, 3), dtype=np.float32)
    canvas[...] = level[..., None]
    for points, radii in marks:
        draw_marks(canvas, points, radii, num_points)
    return np.rint(canvas, out=canvas).astype(np.uint8)
