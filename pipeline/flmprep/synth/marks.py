"""Colour-coded landmark marks: draw them, and recover their positions from pixels.

Synthetic images have a grey background (R = G = B), so a pixel's chroma (its RGB vector minus
its grey component) is exactly ``alpha * chroma(mark colour)``. Every palette colour has the same
chroma length, so the mark's opacity is linear in the pixels: it survives bilinear/area
resampling and JPEG at quality 100 (4:4:4), and its weighted centroid stays on the landmark.
Two touching marks are unmixed from the 2-D chroma; anything more ambiguous is reported as not
found rather than guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from flmprep.schemes import SCHEME_NAMES, get_scheme
from flmprep.synth.faces import template

CHROMA = 100.0  # chroma length of every palette colour (RGB units)
_BASIS = np.array([[1.0, -1.0, 0.0], [1.0, 1.0, -2.0]]) / np.array([[math.sqrt(2.0)], [math.sqrt(6.0)]])
_CORE = 0.12  # opacity that seeds a mark (weaker blobs still block their neighbours)
_CLASSIFY = 0.25  # peak opacity a mark needs to be classified
_SUPPORT = 0.04  # opacity below which a pixel is background
_FLOOR = 0.04  # subtracted from the opacity before weighting (a symmetric profile stays symmetric)
_ANGLE_NOISE = 3.0  # chroma noise (RGB units) allowed for in the angle tolerance
_MAX_ACROSS = 0.15  # a lone mark's chroma may stray this much from its colour's direction
_MIN_STRENGTH = 40.0  # summed chroma / sqrt(pixels) a blob needs to be classified
_MAX_GREY_RMS = 3.0  # a blob whose surroundings are not smooth grey is not classified
_GREY_TOLERANCE = 0.3  # a blob's grey level must lie this close to a palette level (x their step)
_MAX_SHIFT = 0.1  # centroids at two opacity floors may differ this much (px), else not found
_MIN_SIN = 0.3  # two touching marks must differ this much in chroma direction to be unmixed


def _chroma(rgb: np.ndarray) -> np.ndarray:
    """[..., 3] RGB -> [..., 2] chroma coordinates (grey removed)."""
    return np.asarray(rgb, dtype=np.float64) @ _BASIS.T


def _levels(num_points: int) -> tuple[float, ...]:
    """Grey levels of the palette: more levels (closer together) only for larger schemes."""
    if num_points <= 16:
        return (128.0,)
    return (86.0, 170.0) if num_points <= 100 else (86.0, 128.0, 170.0)


def _n_angles(num_points: int) -> int:
    """Chroma angles per grey level; odd, so that no two palette directions are opposite."""
    return -(-num_points // len(_levels(num_points))) | 1


@cache
def _grid(num_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate colours (uint8-valued float [N, 3]) and their (angle, grey) coordinates [N, 2]."""
    levels = _levels(num_points)
    n_phi = _n_angles(num_points)
    phi = 2.0 * math.pi * np.arange(n_phi) / n_phi
    ring = CHROMA * (np.cos(phi)[:, None] * _BASIS[0] + np.sin(phi)[:, None] * _BASIS[1])
    cols = np.rint(np.array(levels)[:, None, None] + ring[None, :, :]).reshape(-1, 3)
    return cols, _coords(cols)


def _coords(rgb: np.ndarray) -> np.ndarray:
    """(chroma angle in radians, grey level) of [N, 3] colours."""
    ch = _chroma(rgb)
    return np.stack([np.arctan2(ch[:, 1], ch[:, 0]), rgb.mean(axis=1)], axis=1)


def _neighbours(num_points: int) -> list[list[int]]:
    """For each index: nearby indices (±1 in order, and 4 nearest template points both ways)."""
    shape = next((template(s) for s in SCHEME_NAMES if get_scheme(s).num_points == num_points), None)
    near: list[set[int]] = [set() for _ in range(num_points)]
    for i in range(num_points):
        near[i].update(j for j in (i - 1, i + 1) if 0 <= j < num_points)
        if shape is not None:
            for j in np.argsort(np.linalg.norm(shape - shape[i], axis=1))[1:5]:
                near[i].add(int(j))
                near[int(j)].add(i)
    return [sorted(n) for n in near]


@cache
def palette(num_points: int) -> np.ndarray:
    """[K, 3] uint8 RGB colour of each landmark index.

    Colours share one chroma length and sit on a grid of chroma angles x grey levels. Indices
    get colours so that neighbouring landmarks differ in chroma direction as much as possible
    (|sin| of the angle between them), so touching marks can be unmixed.
    """
    if num_points < 1:
        raise ValueError(f"num_points must be positive, found {num_points}")
    cols, coords = _grid(num_points)
    near = _neighbours(num_points)
    order = _assign(coords[:, 0], near)
    angle = coords[:, 0]
    pen = np.maximum(0.6 - np.abs(np.sin(angle[:, None] - angle[None, :])), 0.0) ** 2
    adj = np.zeros((num_points, num_points))
    for i, n in enumerate(near):
        adj[i, n] = 1.0
    for _ in range(20 * num_points):
        if not _improve(order, pen, adj):
            break
    out = cols[order].astype(np.uint8)
    out.setflags(write=False)
    return out


def _assign(angle: np.ndarray, near: list[list[int]]) -> np.ndarray:
    """Greedy start: most constrained index first, the free colour most unlike its neighbours."""
    k = len(near)
    free = np.ones(len(angle), dtype=bool)
    order = np.full(k, -1)
    for _ in range(k):
        done_count = [-1 if order[i] >= 0 else sum(order[j] >= 0 for j in near[i]) for i in range(k)]
        i = int(np.argmax(done_count))
        done = [order[j] for j in near[i] if order[j] >= 0]
        score = np.ones(len(angle))
        if done:
            score = np.abs(np.sin(angle[:, None] - angle[done][None, :])).min(axis=1)
        score[~free] = -1.0
        order[i] = int(np.argmax(score))
        free[order[i]] = False
    return order


def _improve(order: np.ndarray, pen: np.ndarray, adj: np.ndarray) -> bool:
    """Make the single colour swap (between two indices, or with an unused colour) that most
    lowers the total penalty ``pen`` of neighbours (``adj``) with similar chroma directions;
    False when no swap lowers it."""
    k, c = len(order), len(pen)
    cost = np.einsum("ij,jc->ic", adj, pen[order])  # cost[i, x]: penalty of index i if it had colour x
    here = cost[np.arange(k), order]
    swap = cost[:, order] + cost[:, order].T - here[:, None] - here[None, :]
    swap += adj * (
        2 * pen[order[:, None], order[None, :]] - pen[order, order][:, None] - pen[order, order][None, :]
    )
    np.fill_diagonal(swap, 0.0)
    unused = np.setdiff1d(np.arange(c), order)
    move = cost[:, unused] - here[:, None] if len(unused) else np.zeros((k, 0))
    best_swap = float(swap.min())
    best_move = float(move.min()) if move.size else 0.0
    if min(best_swap, best_move) > -1e-12:
        return False
    if best_swap <= best_move:
        i, j = np.unravel_index(int(np.argmin(swap)), swap.shape)
        order[i], order[j] = order[j], order[i]
    else:
        i, x = np.unravel_index(int(np.argmin(move)), move.shape)
        order[i] = unused[x]
    return True


def mark_colour(index: int, num_points: int) -> tuple[int, int, int]:
    """The RGB colour of landmark ``index`` in a scheme of ``num_points`` points."""
    if not 0 <= index < num_points:
        raise ValueError(f"landmark index must be in [0, {num_points}), found {index}")
    r, g, b = palette(num_points)[index]
    return int(r), int(g), int(b)


def draw_marks(canvas: np.ndarray, points: np.ndarray, radii: np.ndarray, num_points: int) -> None:
    """Blend one mark per landmark into ``canvas`` (float HxWx3 RGB, in place).

    A mark's opacity is ``(1 - (r/R)^2)^3`` for r < R around the exact sub-pixel position,
    averaged over each pixel's area; a radius of 0 leaves that landmark unmarked.
    """
    cols = palette(num_points).astype(np.float32)
    h, w = canvas.shape[:2]
    for k, ((x, y), radius) in enumerate(zip(points, radii, strict=True)):
        if radius <= 0:
            continue
        x0, x1 = max(math.floor(x - radius), 0), min(math.ceil(x + radius), w - 1)
        y0, y1 = max(math.floor(y - radius), 0), min(math.ceil(y + radius), h - 1)
        if x1 < x0 or y1 < y0:
            continue
        alpha = _coverage(np.arange(x0, x1 + 1) - x, np.arange(y0, y1 + 1) - y, radius)[..., None]
        win = canvas[y0 : y1 + 1, x0 : x1 + 1]
        win[...] = win * (1.0 - alpha) + alpha * cols[k]


_SUB = (np.arange(4) + 0.5) / 4 - 0.5  # 4x4 sample offsets inside a pixel


def _coverage(dx: np.ndarray, dy: np.ndarray, radius: float) -> np.ndarray:
    """Mark opacity averaged over each pixel's area (4x4 samples): [len(dy), len(dx)] float32.

    Area sampling (a box filter) cancels the grid aliasing that biases a point-sampled small
    mark's centroid.
    """
    sx = (dx[:, None] + _SUB[None, :]).ravel() ** 2
    sy = (dy[:, None] + _SUB[None, :]).ravel() ** 2
    alpha = np.maximum(1.0 - (sy[:, None] + sx[None, :]) / (radius * radius), 0.0) ** 3
    n = len(_SUB)
    return alpha.reshape(len(dy), n, len(dx), n).mean(axis=(1, 3)).astype(np.float32)


@dataclass(frozen=True)
class _Core:
    """A seed blob: its support component, centroid and palette index (-1: unclassified)."""

    support: int
    centre: np.ndarray
    index: int


def find_marks(pixels: np.ndarray, num_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Recover mark positions from an RGB image (HxWx3 uint8 or float).

    Returns positions [K, 2] float64 (sub-pixel, pixel-centre convention; NaN where not found)
    and ``found`` bool [K]. A mark is not found when absent, cut by the image border, merged
    beyond unmixing, of an unrecognisable colour, or present more than once.
    """
    img = np.asarray(pixels)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"find_marks needs an HxWx3 RGB image, found shape {img.shape}")
    img = img.astype(np.float64)
    chroma = _chroma(img)
    opacity = np.hypot(chroma[..., 0], chroma[..., 1]) / CHROMA
    _, support, boxes, _ = cv2.connectedComponentsWithStats(
        (opacity > _SUPPORT).astype(np.uint8), connectivity=8
    )
    cores = _find_cores(img, chroma, opacity, support, num_points)
    pos = np.full((num_points, 2), np.nan)
    found = np.zeros(num_points, dtype=bool)
    counts = np.bincount([c.index for c in cores if c.index >= 0], minlength=num_points)
    by_support: dict[int, list[_Core]] = {}
    for core in cores:
        by_support.setdefault(core.support, []).append(core)
    for label, group in by_support.items():
        if any(c.index < 0 for c in group):
            continue
        x, y, w, h = boxes[label, :4]
        ys, xs = np.nonzero(support[y : y + h, x : x + w] == label)
        ys, xs = ys + y, xs + x
        for index, centre in _centroids(group, xs, ys, chroma[ys, xs], num_points, img.shape[:2]):
            if counts[index] == 1:
                pos[index] = centre
                found[index] = True
    return pos, found


def _find_cores(
    img: np.ndarray, chroma: np.ndarray, opacity: np.ndarray, support: np.ndarray, num_points: int
) -> list[_Core]:
    """Connected blobs of high opacity, each classified to a palette index (or -1)."""
    n, labels, stats, cents = cv2.connectedComponentsWithStats(
        (opacity > _CORE).astype(np.uint8), connectivity=8
    )
    grey = img.mean(axis=2)
    out = []
    for j in range(1, n):
        x, y, w, h = stats[j, :4]
        ys, xs = np.nonzero(labels[y : y + h, x : x + w] == j)
        ys, xs = ys + y, xs + x
        index = _classify(grey, chroma, opacity, (xs, ys), num_points)
        out.append(_Core(int(support[ys[0], xs[0]]), cents[j].astype(np.float64), index))
    return out


def _classify(
    grey: np.ndarray,
    chroma: np.ndarray,
    opacity: np.ndarray,
    core: tuple[np.ndarray, np.ndarray],
    num_points: int,
) -> int:
    """The palette index of a core blob, from its chroma direction and its grey level.

    The grey level comes from a regression of pixel grey on opacity over the core and the
    background around it (intercept: background, slope: mark grey - background).
    """
    xs, ys = core
    if opacity[ys, xs].max() < _CLASSIFY:
        return -1
    vec = chroma[ys, xs].sum(axis=0)
    direction = vec / max(float(np.hypot(*vec)), 1e-9)
    spread = np.abs(chroma[ys, xs] @ np.array([-direction[1], direction[0]])).sum()
    if spread > 0.25 * float((chroma[ys, xs] @ direction).sum()):
        return -1
    h, w = grey.shape
    y0, y1 = max(int(ys.min()) - 3, 0), min(int(ys.max()) + 4, h)
    x0, x1 = max(int(xs.min()) - 3, 0), min(int(xs.max()) + 4, w)
    win_op = opacity[y0:y1, x0:x1]
    win_dir = chroma[y0:y1, x0:x1] @ direction / CHROMA
    use = (win_op < _SUPPORT) | (win_dir > 0.9 * win_op)
    a = np.where(win_op < _SUPPORT, 0.0, win_dir)[use]
    yy, xx = np.nonzero(use)
    design = np.stack([np.ones_like(a), a, xx.astype(float), yy.astype(float)], axis=1)
    target = grey[y0:y1, x0:x1][use]
    coef = np.linalg.lstsq(design, target, rcond=None)[0]
    if np.sqrt(np.mean((design @ coef - target) ** 2)) > _MAX_GREY_RMS:
        return -1
    mark_grey = coef[0] + coef[1] + coef[2] * (xs.mean() - x0) + coef[3] * (ys.mean() - y0)
    angle = math.atan2(direction[1], direction[0])
    return _nearest(num_points, angle, float(mark_grey), float(np.hypot(*vec)) / math.sqrt(len(xs)))


@cache
def _palette_coords(num_points: int) -> np.ndarray:
    return _coords(palette(num_points).astype(np.float64))


def _nearest(num_points: int, angle: float, grey: float, strength: float) -> int:
    """The palette index at (chroma angle, grey level), or -1 when not clearly one colour.

    ``strength`` (summed chroma / sqrt(pixels)) bounds the angle's noise: weak blobs must
    match more closely.
    """
    coords = _palette_coords(num_points)
    levels = _levels(num_points)
    step_g = levels[1] - levels[0] if len(levels) > 1 else 80.0
    step_phi = 2.0 * math.pi / _n_angles(num_points)
    tol_phi = 0.5 * step_phi - _ANGLE_NOISE / max(strength, 1e-9)
    d_phi = np.abs(np.angle(np.exp(1j * (coords[:, 0] - angle))))
    ok = (np.abs(coords[:, 1] - grey) <= _GREY_TOLERANCE * step_g) & (d_phi <= tol_phi)
    hits = np.flatnonzero(ok & (strength >= _MIN_STRENGTH))
    return int(hits[0]) if len(hits) == 1 else -1


def _centroids(
    group: list[_Core],
    xs: np.ndarray,
    ys: np.ndarray,
    chroma: np.ndarray,
    num_points: int,
    shape: tuple[int, ...],
) -> list[tuple[int, np.ndarray]]:
    """Opacity-weighted centroid of every core in one support blob (two nearest cores unmixed)."""
    basis = _chroma(palette(num_points)[[c.index for c in group]].astype(np.float64))  # [m, 2]
    opac = _unmix(group, xs, ys, chroma, basis)  # [n, m]
    h, w = shape[:2]
    edge = (xs == 0) | (ys == 0) | (xs == w - 1) | (ys == h - 1)
    out = []
    for m, core in enumerate(group):
        low = np.clip(opac[:, m] - _FLOOR, 0.0, None)
        high = np.clip(opac[:, m] - 3.0 * _FLOOR, 0.0, None)
        total, total_high = float(low.sum()), float(high.sum())
        if not (np.isfinite(total) and total_high > 0.0) or bool((low[edge] > 0).any()):
            continue
        centre = np.array([low @ xs, low @ ys]) / total
        inner = np.array([high @ xs, high @ ys]) / total_high
        if math.dist(centre, inner) <= _MAX_SHIFT:  # a symmetric blob's centroid ignores the floor
            out.append((core.index, centre))
    return out


def _unmix(
    group: list[_Core], xs: np.ndarray, ys: np.ndarray, chroma: np.ndarray, basis: np.ndarray
) -> np.ndarray:
    """Per-pixel opacity of each core's colour: a projection for one core, else a 2x2 solve
    against the pixel's two nearest cores. Unresolvable pairs give NaN."""
    if len(group) == 1:
        along = chroma @ basis[0] / (basis[0] @ basis[0])
        across = np.abs(chroma @ np.array([-basis[0, 1], basis[0, 0]])) / math.hypot(*basis[0])
        if across.sum() > _MAX_ACROSS * np.abs(along).sum() * math.hypot(*basis[0]):
            return np.full((len(xs), 1), np.nan)
        return along[:, None]
    centres = np.array([c.centre for c in group])
    d = np.hypot(xs[:, None] - centres[:, 0], ys[:, None] - centres[:, 1])
    pair = np.argsort(d, axis=1)[:, :2]
    b1, b2 = basis[pair[:, 0]], basis[pair[:, 1]]
    det = b1[:, 0] * b2[:, 1] - b1[:, 1] * b2[:, 0]
    sin = np.abs(det) / (np.hypot(b1[:, 0], b1[:, 1]) * np.hypot(b2[:, 0], b2[:, 1]))
    a1 = (chroma[:, 0] * b2[:, 1] - chroma[:, 1] * b2[:, 0]) / det
    a2 = (b1[:, 0] * chroma[:, 1] - b1[:, 1] * chroma[:, 0]) / det
    out = np.zeros((len(xs), len(group)))
    rows = np.arange(len(xs))
    out[rows, pair[:, 0]] = a1
    out[rows, pair[:, 1]] = a2
    bad = sin < _MIN_SIN
    out[rows[bad], pair[bad, 0]] = np.nan
    out[rows[bad], pair[bad, 1]] = np.nan
    return out
