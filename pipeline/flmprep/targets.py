"""Gaussian heatmap targets: render, store as one tiled uint8 PNG, decode back to points.

Heatmap pixels follow the package convention (centre of map pixel (i, j) at x=j, y=i), so a
point in an output image of ``out_w`` pixels maps to ``x_hm = (x + 0.5) * hm_w / out_w - 0.5``.
"""

from __future__ import annotations

import math
import struct
import zlib

import cv2
import numpy as np

from flmprep.imageio import ImageError, decode

DEFAULT_SIZE = (64, 64)
DEFAULT_SIGMA = 2.5
#: Half-width of the window the sub-pixel refinement fits the log-Gaussian on.
_FIT_RADIUS = 2
_FIT_FLOOR = 0.02


def to_heatmap_coords(points: np.ndarray, out_size: tuple[int, int], hm_size: tuple[int, int]) -> np.ndarray:
    """Output-image pixels → heatmap pixels: ``x_hm = (x + 0.5) * hm_w / out_w - 0.5`` (same for y)."""
    ratio = np.array([hm_size[0] / out_size[0], hm_size[1] / out_size[1]])
    return ((np.asarray(points, dtype=np.float64) + 0.5) * ratio - 0.5).astype(np.float32)


def from_heatmap_coords(
    points_hm: np.ndarray, out_size: tuple[int, int], hm_size: tuple[int, int]
) -> np.ndarray:
    """The inverse of ``to_heatmap_coords``."""
    ratio = np.array([out_size[0] / hm_size[0], out_size[1] / hm_size[1]])
    return ((np.asarray(points_hm, dtype=np.float64) + 0.5) * ratio - 0.5).astype(np.float32)


def render_heatmaps(
    points_hm: np.ndarray,
    visible: np.ndarray,
    size: tuple[int, int] = DEFAULT_SIZE,
    sigma: float = DEFAULT_SIGMA,
) -> np.ndarray:
    """K maps of ``size`` = (w, h): ``H[k, y, x] = exp(-((x - px_k)² + (y - py_k)²) / (2σ²))``
    for visible points (peak 1 at the sub-pixel point, no rounding, no normalisation), zero
    for invisible ones. Separable: an outer product of per-axis Gaussians, float32 [K, h, w]."""
    pts = np.asarray(points_hm, dtype=np.float64).reshape(-1, 2)
    vis = np.asarray(visible, dtype=bool).reshape(-1)
    if vis.shape[0] != pts.shape[0]:
        raise ValueError(f"visible: expected {pts.shape[0]} flags, found {vis.shape[0]}")
    vis = vis & np.isfinite(pts).all(axis=1)
    if sigma <= 0:
        raise ValueError(f"sigma: expected > 0, found {sigma}")
    w, h = size
    safe = np.where(vis[:, None], pts, 0.0)
    gx = np.exp(-((np.arange(w) - safe[:, :1]) ** 2) / (2 * sigma * sigma)).astype(np.float32)
    gy = np.exp(-((np.arange(h) - safe[:, 1:]) ** 2) / (2 * sigma * sigma)).astype(np.float32)
    gy[~vis] = 0.0
    return gy[:, :, None] * gx[:, None, :]


def tile_grid(num_points: int) -> tuple[int, int]:
    """(cols, rows) of the near-square tiling of K maps: cols = ceil(sqrt(K)), rows = ceil(K / cols)."""
    if num_points <= 0:
        raise ValueError(f"num_points: expected > 0, found {num_points}")
    cols = math.ceil(math.sqrt(num_points))
    return cols, math.ceil(num_points / cols)


def quantize(maps: np.ndarray) -> np.ndarray:
    """float maps → uint8 ``round(255 · clip(v, 0, 1))``, in float32 arithmetic, halves to even."""
    m = np.ascontiguousarray(maps, dtype=np.float32)
    flat = m.reshape(-1, m.shape[-1]) if m.ndim > 1 else m.reshape(1, -1)
    _, positive = cv2.threshold(flat, 0.0, 0.0, cv2.THRESH_TOZERO)
    return cv2.convertScaleAbs(positive, alpha=255.0).reshape(m.shape)  # rounds half to even, saturates


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def grey_png(sheet: np.ndarray) -> bytes:
    """A minimal 8-bit greyscale PNG (filter None, one IDAT, zlib run-length strategy) for
    mostly-zero heatmap sheets (against OpenCV's writer: ``benchmarks/bench_choices.py``)."""
    h, w = sheet.shape
    rows = np.zeros((h, w + 1), dtype=np.uint8)
    rows[:, 1:] = sheet
    packer = zlib.compressobj(6, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    idat = packer.compress(rows.tobytes()) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def encode_heatmaps_png(maps: np.ndarray) -> bytes:
    """One grey PNG: map k at tile (row k // cols, col k % cols) of the ``tile_grid(K)`` grid,
    row-major; unused tiles are zero. Values are ``round(255 · v)``."""
    q = quantize(maps)
    k, h, w = q.shape
    cols, rows = tile_grid(k)
    padded = np.zeros((rows * cols, h, w), dtype=np.uint8)
    padded[:k] = q
    sheet = padded.reshape(rows, cols, h, w).transpose(0, 2, 1, 3).reshape(rows * h, cols * w)
    return grey_png(sheet)


def decode_heatmaps_png(data: bytes, num_points: int, size: tuple[int, int] | None = None) -> np.ndarray:
    """The inverse of ``encode_heatmaps_png``: float32 [K, h, w] with values v / 255; the map
    size is inferred from the sheet and K when not given."""
    cols, rows = tile_grid(num_points)
    grey = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if grey is None:
        grey = decode(data).pixels[:, :, 0]
    sheet_h, sheet_w = grey.shape
    if sheet_h % rows or sheet_w % cols:
        expected = f"a sheet of {cols}×{rows} equal tiles"
        raise ImageError("not_an_image", f"heatmaps: expected {expected}, found {sheet_w}×{sheet_h} pixels")
    w, h = sheet_w // cols, sheet_h // rows
    if size is not None and (w, h) != tuple(size):
        raise ImageError("not_an_image", f"heatmaps: expected {size[0]}×{size[1]} maps, found {w}×{h}")
    tiles = grey.reshape(rows, h, cols, w).transpose(0, 2, 1, 3).reshape(rows * cols, h, w)
    return tiles[:num_points].astype(np.float32) / np.float32(255.0)


def _window(maps: np.ndarray, peak_y: np.ndarray, peak_x: np.ndarray) -> np.ndarray:
    """Values [K, n] of the (2r+1)² window around each peak (row-major); outside the map reads 0."""
    k, h, w = maps.shape
    off = np.arange(-_FIT_RADIUS, _FIT_RADIUS + 1)
    ys = peak_y[:, None, None] + off[None, :, None]
    xs = peak_x[:, None, None] + off[None, None, :]
    inside = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    vals = maps[np.arange(k)[:, None, None], np.clip(ys, 0, h - 1), np.clip(xs, 0, w - 1)]
    return np.where(inside, vals, 0.0).reshape(k, -1)


def _design() -> np.ndarray:
    """Rows (1, dx, dy, dx² + dy²) of the window offsets, in ``_window``'s order."""
    off = np.arange(-_FIT_RADIUS, _FIT_RADIUS + 1, dtype=np.float64)
    dy, dx = np.meshgrid(off, off, indexing="ij")
    return np.stack([np.ones_like(dx), dx, dy, dx * dx + dy * dy], axis=-1).reshape(-1, 4)


def heatmaps_to_points(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points [K, 2] (heatmap pixels) and confidence [K] (the peak value) from K maps.

    Argmax, then a weighted least-squares fit of ``log v = c - ((x-px)² + (y-py)²) / (2s²)``
    on the 5×5 window around it (weights v², values below 0.02·peak ignored); falls back to the
    argmax when the fit is degenerate. All-zero maps give NaN points and confidence 0.
    """
    m = np.asarray(maps, dtype=np.float64)
    k, w = m.shape[0], m.shape[2]
    flat = m.reshape(k, -1).argmax(axis=1)
    peak_y, peak_x = np.divmod(flat, w)
    conf = m.reshape(k, -1).max(axis=1)
    vals = _window(m, peak_y, peak_x) / np.where(conf > 0, conf, 1.0)[:, None]  # peak scaled to 1
    used = vals > _FIT_FLOOR
    wgt = np.where(used, vals * vals, 0.0)
    design = _design()
    logv = np.log(np.where(used, vals, 1.0))
    normal = np.einsum("kn,ni,nj->kij", wgt, design, design)
    rhs = np.einsum("kn,ni,kn->ki", wgt, design, logv)
    ok = np.abs(np.linalg.det(normal)) > 1e-12
    coef = np.zeros((k, 4))
    coef[ok] = np.linalg.solve(normal[ok], rhs[ok][:, :, None])[:, :, 0]
    curv = coef[:, 3]
    ok &= curv < 0
    shift = np.where(ok[:, None], -coef[:, 1:3] / np.where(ok, 2 * curv, 1.0)[:, None], 0.0)
    shift = np.clip(shift, -1.0, 1.0)
    pts = np.stack([peak_x, peak_y], axis=1) + shift
    pts[conf <= 0] = np.nan
    return pts.astype(np.float32), conf.astype(np.float32)
