"""Pure affine algebra on 3x3 matrices in the package's pixel convention.

Convention: pixel (row i, col j) has its centre at (x=j, y=i); pixel j covers [j-0.5, j+0.5].
Matrices map source points to output points: ``p_out = M @ [x, y, 1]``. ``compose(a, b, c)``
applies ``a`` first. Nothing here draws a random number.
"""

from __future__ import annotations

import math

import numpy as np

Matrix = np.ndarray


def identity() -> Matrix:
    return np.eye(3, dtype=np.float64)


def translate(tx: float, ty: float) -> Matrix:
    m = identity()
    m[0, 2] = tx
    m[1, 2] = ty
    return m


def scale(sx: float, sy: float | None = None, center: tuple[float, float] = (0.0, 0.0)) -> Matrix:
    """Scale by (sx, sy) about ``center``."""
    sy = sx if sy is None else sy
    cx, cy = center
    m = np.diag([sx, sy, 1.0])
    return compose(translate(-cx, -cy), m, translate(cx, cy))


def rotate(angle_deg: float, center: tuple[float, float] = (0.0, 0.0)) -> Matrix:
    """Rotate by ``angle_deg`` about ``center``; positive turns the picture counter-clockwise
    as seen on screen (y points down), like ``cv2.getRotationMatrix2D``."""
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    r = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    cx, cy = center
    return compose(translate(-cx, -cy), r, translate(cx, cy))


def hflip(width: int) -> Matrix:
    """Mirror an image of ``width`` pixels: x -> width - 1 - x."""
    m = identity()
    m[0, 0] = -1.0
    m[0, 2] = width - 1.0
    return m


def box_to_output(box: tuple[float, float, float, float], out_w: int, out_h: int) -> Matrix:
    """Map a crop box given by its pixel *edges* (left, top, right, bottom) onto an output of
    ``out_w`` x ``out_h`` pixels, whose edges are [-0.5, out_w - 0.5] x [-0.5, out_h - 0.5].

    The whole image of width W as a box is (-0.5, -0.5, W - 0.5, H - 0.5).
    """
    left, top, right, bottom = box
    if right <= left or bottom <= top:
        raise ValueError(f"crop box must have positive size, got {box}")
    sx = out_w / (right - left)
    sy = out_h / (bottom - top)
    return compose(translate(-left, -top), np.diag([sx, sy, 1.0]), translate(-0.5, -0.5))


def compose(*matrices: Matrix) -> Matrix:
    """The matrix that applies ``matrices[0]`` first, then ``matrices[1]``, and so on."""
    out = identity()
    for m in matrices:
        out = np.asarray(m, dtype=np.float64) @ out
    return out


def invert(m: Matrix) -> Matrix:
    """Inverse of an affine 3x3 matrix (last row [0, 0, 1])."""
    a = np.asarray(m, dtype=np.float64)[:2, :2]
    t = np.asarray(m, dtype=np.float64)[:2, 2]
    ai = np.linalg.inv(a)
    out = identity()
    out[:2, :2] = ai
    out[:2, 2] = -ai @ t
    return out


def apply_points(m: Matrix, points: np.ndarray) -> np.ndarray:
    """Transform [K, 2] points; float64 arithmetic, result in the input's float dtype."""
    pts = np.asarray(points)
    p = pts.astype(np.float64, copy=False)
    mm = np.asarray(m, dtype=np.float64)
    out = p @ mm[:2, :2].T + mm[:2, 2]
    dtype = pts.dtype if np.issubdtype(pts.dtype, np.floating) else np.float64
    return out.astype(dtype, copy=False)


def scale_factor(m: Matrix) -> float:
    """The geometric-mean scale of the linear part: sqrt(|det|)."""
    return math.sqrt(abs(float(np.linalg.det(np.asarray(m, dtype=np.float64)[:2, :2]))))


def to_2x3(m: Matrix) -> np.ndarray:
    """The 2x3 form OpenCV and the sample JSON use."""
    return np.asarray(m, dtype=np.float64)[:2, :].copy()


def from_2x3(m: np.ndarray | list[list[float]]) -> Matrix:
    out = identity()
    out[:2, :] = np.asarray(m, dtype=np.float64)
    return out
