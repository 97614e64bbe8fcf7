"""Pure affine algebra on 3x3 matrices in the package's pixel convention.

Convention: pixel (row i, col j) has its centre at (x=j, y=i); pixel j covers [j-0.5, j+0.5].
Matrices map source points to output points: ``p_out = M @ [x, y, 1]``. ``compose(a, b, c)``
applies ``a`` first. ``warp_image`` resamples an image once with such a matrix (area pre-shrink
on strong downscales, folded exactly into the matrix). Nothing here draws a random number.
"""

from __future__ import annotations

import math

import cv2
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



# --- Warping an image: one resampling, anti-aliased on strong downscale -------------------------

INTERPOLATIONS: dict[str, int] = {
    "nearest": cv2.INTER_NEAREST,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
}
_KERNEL_RADIUS = {"nearest": 1, "linear": 1, "cubic": 2, "lanczos": 4}

#: Pre-shrink with an area average when the matrix magnifies no direction beyond this factor.
PRESHRINK_BELOW = 0.5


def max_stretch(m: Matrix) -> float:
    """The largest singular value of the linear part: the least-shrunk direction's scale."""
    (a, b), (d, e) = np.asarray(m, dtype=np.float64)[:2, :2].tolist()
    half = (a * a + b * b + d * d + e * e) / 2.0
    det = a * e - b * d
    return math.sqrt(half + math.sqrt(max(half * half - det * det, 0.0)))


def shrink_factor(m: Matrix, interpolation: str = "linear") -> int:
    """The power-of-two area pre-shrink ``warp_image`` applies before warping with ``m`` (1 = none).

    When every direction shrinks below ``PRESHRINK_BELOW``: the largest f = 2^k with
    f · max_stretch <= 1, so the remaining warp never magnifies and shrinks by less than 2.
    Nearest-neighbour warps are never pre-shrunk.
    """
    return _shrink_factor(max_stretch(m), interpolation)


def _shrink_factor(stretch: float, interpolation: str) -> int:
    """``shrink_factor`` of a matrix whose ``max_stretch`` is ``stretch``."""
    if interpolation == "nearest" or stretch <= 0.0 or stretch >= PRESHRINK_BELOW - 1e-9:
        return 1
    f = 2
    while 2 * f * stretch <= 1.0 + 1e-9:
        f *= 2
    return f


def area_shrink(f: int) -> Matrix:
    """The map of an integer-factor area shrink: pixel centres go x -> (x + 0.5) / f - 0.5."""
    return compose(translate(0.5, 0.5), scale(1.0 / f), translate(-0.5, -0.5))


def area_expand(f: int) -> Matrix:
    """The inverse of ``area_shrink(f)``, exactly: shrunk pixel centres go x -> f * x + (f - 1) / 2."""
    return np.array([[f, 0.0, (f - 1) / 2], [0.0, f, (f - 1) / 2], [0.0, 0.0, 1.0]], dtype=np.float64)


def output_preimage(m: Matrix, out_w: int, out_h: int) -> tuple[float, float, float, float]:
    """Source-space bounding box (x0, y0, x1, y1) of the output's pixel edges under ``m``."""
    (a, b, c), (d, e, f) = np.asarray(m, dtype=np.float64)[:2].tolist()
    det = a * e - b * d
    ia, ib, id_, ie = e / det, -b / det, -d / det, a / det
    xs, ys = [], []
    for u in (-0.5, out_w - 0.5):
        for v in (-0.5, out_h - 0.5):
            xs.append(ia * (u - c) + ib * (v - f))
            ys.append(id_ * (u - c) + ie * (v - f))
    return min(xs), min(ys), max(xs), max(ys)


def _crop_padded(image: np.ndarray, x0: int, y0: int, x1: int, y1: int, border: float) -> np.ndarray:
    """``image[y0:y1, x0:x1]``, padded with ``border`` where the window leaves the image."""
    h, w = image.shape[:2]
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if cx0 >= cx1 or cy0 >= cy1:
        shape = (y1 - y0, x1 - x0, *image.shape[2:])
        return np.full(shape, border, dtype=image.dtype)
    window = image[cy0:cy1, cx0:cx1]
    pads = (cy0 - y0, y1 - cy1, cx0 - x0, x1 - cx1)
    if not any(pads):
        return window
    padded = cv2.copyMakeBorder(window, *pads, cv2.BORDER_CONSTANT, value=(border,) * 4)
    return padded.reshape(y1 - y0, x1 - x0, *image.shape[2:])


def _preshrink(
    image: np.ndarray, m: Matrix, size: tuple[int, int], f: int, radius: int, border: float
) -> tuple[np.ndarray, np.ndarray]:
    """Crop the output's pre-image (plus the kernel's margin), area-shrink it by ``f`` (a power
    of two, as repeated 2×2 halvings: OpenCV's fast ``INTER_AREA`` case, see
    ``benchmarks/bench_choices.py``), and return the small image with the 2×3 matrix that maps
    *its* pixels to the output."""
    bx0, by0, bx1, by1 = output_preimage(m, *size)
    margin = (radius + 1) * f
    # Cells aligned to the image origin: every view of an image shares one area grid.
    x0 = f * math.floor((math.floor(bx0) - margin) / f)
    y0 = f * math.floor((math.floor(by0) - margin) / f)
    x1 = x0 + f * math.ceil((math.ceil(bx1) + margin - x0) / f)
    y1 = y0 + f * math.ceil((math.ceil(by1) + margin - y0) / f)
    # Beyond the image everything is ``border`` (warpAffine's constant border): keep only the cells
    # that touch the image, padding the last partial cell; an empty window keeps one border cell.
    h, w = image.shape[:2]
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, f * -(-w // f)), min(y1, f * -(-h // f))
    x1, y1 = max(x1, x0 + f), max(y1, y0 + f)
    small = _crop_padded(image, x0, y0, x1, y1, border)
    for _ in range(f.bit_length() - 1):  # 2×2 halvings compose exactly into area_shrink(f)
        small = cv2.resize(small, (small.shape[1] // 2, small.shape[0] // 2), interpolation=cv2.INTER_AREA)
    # Small pixel u sits at source x = f * u + (f - 1) / 2 + x0 (inverse of area_shrink after the crop).
    m23 = np.asarray(m, dtype=np.float64)[:2]
    lin = m23[:, :2]
    offset = np.array([(f - 1) / 2 + x0, (f - 1) / 2 + y0])
    folded = np.empty((2, 3))
    folded[:, :2] = lin * f
    folded[:, 2] = lin @ offset + m23[:, 2]
    return small.reshape(small.shape[:2] + image.shape[2:]), folded


def warp_image(
    image: np.ndarray,
    matrix: Matrix,
    size: tuple[int, int],
    *,
    interpolation: str = "linear",
    border_value: float = 0,
    stretch: float | None = None,
) -> np.ndarray:
    """Resample ``image`` (H×W, H×W×1, H×W×3 or H×W×4) once into ``size`` = (out_w, out_h)
    with the source → output ``matrix``; outside the source is ``border_value``.

    Strong downscales (see ``shrink_factor``) first area-average the cropped pre-image by a
    power-of-two factor, folded exactly into the matrix, then warp with ``interpolation``.
    ``stretch`` is ``max_stretch(matrix)`` when the caller knows it in closed form (a recipe's
    view does), so it is not computed again.
    """
    flags = INTERPOLATIONS.get(interpolation)
    if flags is None:
        raise ValueError(f"interpolation: expected one of {sorted(INTERPOLATIONS)}, found {interpolation!r}")
    out_w, out_h = int(size[0]), int(size[1])
    if out_w <= 0 or out_h <= 0:
        raise ValueError(f"output size: expected positive (width, height), found {size}")
    img = np.asarray(image)
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (1, 3, 4)):
        raise ValueError(f"image: expected H×W or H×W×{{1,3,4}}, found shape {img.shape}")
    m23 = np.asarray(matrix, dtype=np.float64)[:2]
    (a, b, c), (d, e, f) = rows = m23.tolist()
    if not all(map(math.isfinite, (a, b, c, d, e, f))) or abs(a * e - b * d) < 1e-12:
        raise ValueError(f"matrix: expected a finite, invertible affine map, found {rows}")
    factor = _shrink_factor(max_stretch(m23) if stretch is None else stretch, interpolation)
    if factor > 1:
        img, m23 = _preshrink(img, m23, (out_w, out_h), factor, _KERNEL_RADIUS[interpolation], border_value)
    out = cv2.warpAffine(
        img,
        m23,
        (out_w, out_h),
        flags=flags,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(border_value,) * 4,
    )
    return out.reshape(out_h, out_w, *img.shape[2:])
