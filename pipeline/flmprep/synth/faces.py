"""Face-like landmark templates per scheme and their random placement in an image.

Templates live in a face frame: x to image-right, y down, unit = half the face width, origin
between the eyes' line and the mouth. Image-left/right follow the real data (e.g. iBUG point 48
is the image-left mouth corner, 55 the lower lip's image-right point), so a horizontal mirror
with the scheme's flip permutation maps each template onto itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from flmprep.schemes import get_scheme


def _mirror(points: np.ndarray) -> np.ndarray:
    out = np.array(points, dtype=np.float64, copy=True)
    out[:, 0] = -out[:, 0]
    return out


def _arc(cx: float, cy: float, rx: float, ry: float, t0: float, t1: float, n: int) -> np.ndarray:
    """``n`` points on an ellipse arc from angle ``t0`` to ``t1`` (y down, angles in radians)."""
    t = np.linspace(t0, t1, n)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _resample(poly: np.ndarray, n: int, closed: bool) -> np.ndarray:
    """``n`` points evenly spaced by arc length along a polyline (closed: no repeated end)."""
    pts = np.vstack([poly, poly[:1]]) if closed else poly
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    stops = np.linspace(0.0, cum[-1], n + 1 if closed else n)[:n]
    return np.stack([np.interp(stops, cum, pts[:, 0]), np.interp(stops, cum, pts[:, 1])], axis=1)


def _ring(cx: float, cy: float, rx: float, ry: float, n: int, start: float, clockwise: bool) -> np.ndarray:
    """``n`` points evenly spaced around an ellipse, from angle ``start`` (clockwise on screen)."""
    sign = 1.0 if clockwise else -1.0
    dense = _arc(cx, cy, rx, ry, start, start + sign * 2 * math.pi, 721)[:-1]
    return _resample(dense, n, closed=True)


def _jaw(n: int) -> np.ndarray:
    """Image-left temple, round the chin, to the image-right temple."""
    return _arc(0.0, -0.2, 0.95, 1.2, math.pi + 0.05, -0.05, n)


def _celeba5() -> np.ndarray:
    return np.array([[-0.4, -0.25], [0.4, -0.25], [0.0, 0.2], [-0.3, 0.55], [0.3, 0.55]])


def _ibug68() -> np.ndarray:
    brow = _arc(-0.45, -0.42, 0.32, 0.12, math.pi + 0.2, 2 * math.pi - 0.2, 5)
    eye = np.array(
        [[-0.57, -0.25], [-0.46, -0.31], [-0.34, -0.31], [-0.23, -0.25], [-0.34, -0.2], [-0.46, -0.2]]
    )
    eye_r = _mirror(eye)[[3, 2, 1, 0, 5, 4]]
    bridge = np.array([[0.0, -0.22], [0.0, -0.08], [0.0, 0.05], [0.0, 0.17]])
    nose = np.array([[-0.17, 0.27], [-0.09, 0.3], [0.0, 0.32], [0.09, 0.3], [0.17, 0.27]])
    upper = np.array([[-0.34, 0.55], [-0.22, 0.48], [-0.1, 0.445], [0.0, 0.455]])
    lower = np.array([[0.22, 0.64], [0.1, 0.69], [0.0, 0.7]])
    outer = np.vstack([upper, _mirror(upper[2::-1]), lower, _mirror(lower[1::-1])])
    inner = np.array(
        [
            [-0.25, 0.56],
            [-0.12, 0.54],
            [0.0, 0.54],
            [0.12, 0.54],
            [0.25, 0.56],
            [0.12, 0.615],
            [0.0, 0.615],
            [-0.12, 0.615],
        ]
    )
    return np.vstack([_jaw(17), brow, _mirror(brow[::-1]), bridge, nose, eye, eye_r, outer, inner])


def _wflw98() -> np.ndarray:
    upper = _arc(-0.45, -0.42, 0.32, 0.12, math.pi + 0.2, 2 * math.pi - 0.2, 5)
    lower = np.array([[-0.24, -0.4], [-0.37, -0.42], [-0.5, -0.42], [-0.63, -0.4]])
    brow_r = _mirror(np.vstack([upper[::-1], lower[::-1]]))
    bridge = np.array([[0.0, -0.22], [0.0, -0.1], [0.0, 0.03], [0.0, 0.15]])
    nose = np.array([[-0.17, 0.27], [-0.09, 0.3], [0.0, 0.32], [0.09, 0.3], [0.17, 0.27]])
    eye = np.array(
        [
            [-0.6, -0.25],
            [-0.52, -0.31],
            [-0.4, -0.335],
            [-0.28, -0.31],
            [-0.2, -0.25],
            [-0.28, -0.19],
            [-0.4, -0.165],
            [-0.52, -0.19],
        ]
    )
    eye_r = _mirror(eye)[[4, 3, 2, 1, 0, 7, 6, 5]]
    o_up = np.array([[-0.34, 0.55], [-0.22, 0.48], [-0.1, 0.445]])
    o_lo = np.array([[0.22, 0.64], [0.1, 0.69]])
    outer = np.vstack([o_up, [[0.0, 0.455]], _mirror(o_up[::-1]), o_lo, [[0.0, 0.7]], _mirror(o_lo[::-1])])
    i_up = np.array([[-0.25, 0.56], [-0.12, 0.54]])
    i_lo = np.array([[0.12, 0.605]])
    inner = np.vstack([i_up, [[0.0, 0.54]], _mirror(i_up[::-1]), i_lo, [[0.0, 0.615]], _mirror(i_lo)])
    pupils = np.array([[-0.4, -0.25], [0.4, -0.25]])
    return np.vstack([_jaw(33), upper, lower, brow_r, bridge, nose, eye, eye_r, outer, inner, pupils])


def _helen194() -> np.ndarray:
    nose_path = np.array(
        [[-0.08, -0.18], [-0.1, 0.1], [-0.19, 0.24], [0.0, 0.33], [0.19, 0.24], [0.1, 0.1], [0.08, -0.18]]
    )
    eye = _ring(-0.4, -0.25, 0.18, 0.075, 20, math.pi, clockwise=True)
    brow = _ring(-0.45, -0.47, 0.33, 0.06, 20, math.pi, clockwise=True)
    return np.vstack(
        [
            _jaw(41),
            _resample(nose_path, 17, closed=False),
            _ring(0.0, 0.56, 0.36, 0.14, 28, math.pi, clockwise=True),
            _ring(0.0, 0.56, 0.27, 0.055, 28, math.pi, clockwise=True),
            eye,
            _mirror(eye),
            brow,
            _mirror(brow),
        ]
    )


_BUILDERS = {"celeba5": _celeba5, "ibug68": _ibug68, "wflw98": _wflw98, "helen194": _helen194}


@cache
def template(scheme: str) -> np.ndarray:
    """The scheme's mean face [K, 2] in the face frame (read-only)."""
    pts = _BUILDERS[scheme]()
    expected = get_scheme(scheme).num_points
    if pts.shape != (expected, 2):
        raise AssertionError(f"template {scheme}: expected {expected} points, found {pts.shape[0]}")
    pts.setflags(write=False)
    return pts


@cache
def nearest_spacing(scheme: str) -> np.ndarray:
    """For each template point, the distance to its nearest other point (face-frame units)."""
    return nn_distances(template(scheme))


def nn_distances(points: np.ndarray) -> np.ndarray:
    """Distance from each of [K, 2] points to its nearest other point (inf when K == 1)."""
    d = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=2)
    np.fill_diagonal(d, np.inf)
    return d.min(axis=1)


@dataclass(frozen=True)
class FacePose:
    """A similarity from the face frame to image pixels: x_img = scale * R(angle) x + (tx, ty)."""

    scale: float
    angle: float
    tx: float
    ty: float

    def matrix(self) -> np.ndarray:
        """The 2x3 face-frame -> image matrix."""
        a = math.radians(self.angle)
        c, s = self.scale * math.cos(a), self.scale * math.sin(a)
        return np.array([[c, -s, self.tx], [s, c, self.ty]])

    def apply(self, points: np.ndarray) -> np.ndarray:
        m = self.matrix()
        return points @ m[:, :2].T + m[:, 2]


def face_shape(scheme: str, rng: np.random.Generator, jitter: float = 0.012) -> np.ndarray:
    """The template with a random width/height ratio and small per-point jitter (face frame).

    The jitter's length is capped at 0.15 x 0.92 of each point's nearest spacing: points keep
    at least 0.92 x 0.7 of their template spacing.
    """
    pts = template(scheme) * np.array([rng.uniform(0.92, 1.08), rng.uniform(0.92, 1.08)])
    noise = rng.normal(0.0, jitter, size=pts.shape)
    cap = 0.15 * 0.92 * nearest_spacing(scheme)
    length = np.maximum(np.linalg.norm(noise, axis=1), 1e-12)
    return pts + noise * np.minimum(1.0, cap / length)[:, None]


def min_face_scale(scheme: str, min_spacing_px: float) -> float:
    """The smallest face scale (pixels per face-frame unit) whose closest points stay
    ``min_spacing_px`` apart after shape variation and jitter."""
    return float(min_spacing_px / (0.92 * 0.7 * nearest_spacing(scheme).min()))
