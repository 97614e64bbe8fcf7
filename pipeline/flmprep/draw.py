"""Draw landmarks, heatmap overlays and contact sheets (RGB uint8 arrays, nothing written to disk).

Points are drawn at sub-pixel positions in the package's pixel convention (pixel centres at
integers), so a drawn point sits exactly where the stored coordinate says.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from flmprep.schemes import Scheme

#: Colours (RGB) of image-left points, image-right points and centre points.
LEFT_COLOUR = (255, 64, 64)
RIGHT_COLOUR = (48, 144, 255)
CENTRE_COLOUR = (64, 224, 64)
BACKGROUND = (32, 32, 32)
TEXT_COLOUR = (240, 240, 240)
GAP = 2
_SHIFT = 4  # cv2 fixed-point bits: coordinates drawn to 1/16 pixel
_FONT = cv2.FONT_HERSHEY_PLAIN


def as_rgb(pixels: np.ndarray) -> np.ndarray:
    """A C-contiguous H×W×3 uint8 copy of a grey (H×W, H×W×1) or RGB image."""
    arr = np.asarray(pixels)
    if arr.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, found dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        return np.ascontiguousarray(np.repeat(arr[:, :, None], 3, axis=2))
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        return np.ascontiguousarray(arr[:, :, :3])
    raise ValueError(f"expected an H×W, H×W×1 or H×W×3 image, found shape {arr.shape}")


def point_colours(scheme: Scheme) -> list[tuple[int, int, int]]:
    """One RGB colour per landmark: image-left, image-right or centre."""
    left, right = set(scheme.left), set(scheme.right)
    colours = []
    for i in range(scheme.num_points):
        colours.append(LEFT_COLOUR if i in left else RIGHT_COLOUR if i in right else CENTRE_COLOUR)
    return colours


def _default_radius(width: int, height: int) -> int:
    return max(1, round(min(width, height) / 96))


def draw_landmarks(
    pixels: np.ndarray,
    landmarks: np.ndarray,
    visible: np.ndarray | Sequence[bool],
    scheme: Scheme,
    *,
    labels: bool = False,
    radius: int | None = None,
) -> np.ndarray:
    """An RGB copy of ``pixels`` with the K landmarks drawn: filled when visible, hollow when not."""
    out = as_rgb(pixels)
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    vis = np.asarray(visible, dtype=bool).reshape(-1)
    if len(pts) != scheme.num_points or len(vis) != scheme.num_points:
        raise ValueError(
            f"expected {scheme.num_points} landmarks and visibility flags for scheme {scheme.name}, "
            f"found {len(pts)} and {len(vis)}"
        )
    r = radius if radius is not None else _default_radius(out.shape[1], out.shape[0])
    scale = 1 << _SHIFT
    for i, ((x, y), v, colour) in enumerate(zip(pts, vis, point_colours(scheme), strict=True)):
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        centre = (round(x * scale), round(y * scale))
        thickness = -1 if v else 1
        cv2.circle(out, centre, r * scale, colour, thickness, cv2.LINE_AA, _SHIFT)
        if labels:
            origin = (round(x) + r + 1, round(y) - r - 1)
            cv2.putText(out, str(i), origin, _FONT, 0.7, colour, 1, cv2.LINE_AA)
    return out


def overlay_heatmaps(pixels: np.ndarray, maps: np.ndarray, *, alpha: float = 0.6) -> np.ndarray:
    """The image with the per-pixel maximum of K heatmaps [K, h, w] (values 0–1) blended on top."""
    out = as_rgb(pixels)
    arr = np.asarray(maps, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"expected heatmaps of shape [K, h, w], found shape {arr.shape}")
    peak = np.clip(arr.max(axis=0), 0.0, 1.0)
    # cv2.resize maps centres as x_hm = (x + 0.5) * w_hm / W - 0.5: the heatmap pixel convention.
    peak = cv2.resize(peak, (out.shape[1], out.shape[0]), interpolation=cv2.INTER_LINEAR)
    colour = cv2.applyColorMap((peak * 255).astype(np.uint8), cv2.COLORMAP_JET)[:, :, ::-1]
    weight = (alpha * peak)[:, :, None]
    blended = out.astype(np.float32) * (1 - weight) + colour.astype(np.float32) * weight
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def _fit(tile: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale an RGB tile to fit inside ``size`` (w, h) keeping its aspect, centred on the background."""
    w, h = size
    th, tw = tile.shape[:2]
    if (tw, th) == (w, h):
        return tile
    s = min(w / tw, h / th)
    nw, nh = max(1, round(tw * s)), max(1, round(th * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    small = cv2.resize(tile, (nw, nh), interpolation=interp)
    canvas = np.empty((h, w, 3), np.uint8)
    canvas[:] = BACKGROUND
    y0, x0 = (h - nh) // 2, (w - nw) // 2
    canvas[y0 : y0 + nh, x0 : x0 + nw] = small
    return canvas


def upscale(pixels: np.ndarray, landmarks: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Enlarge an image by an integer factor and map its landmarks: x' = (x + 0.5) * factor - 0.5."""
    if factor <= 1:
        return pixels, np.asarray(landmarks, dtype=np.float64)
    h, w = pixels.shape[:2]
    big = cv2.resize(pixels, (w * factor, h * factor), interpolation=cv2.INTER_LINEAR)
    return big, (np.asarray(landmarks, dtype=np.float64) + 0.5) * factor - 0.5


def _caption_height(captions: Sequence[str] | None) -> int:
    return 14 if captions else 0


def contact_sheet(
    tiles: Sequence[np.ndarray],
    *,
    cols: int | None = None,
    captions: Sequence[str] | None = None,
    tile_size: int | tuple[int, int] | None = None,
) -> np.ndarray:
    """Tiles in a grid (row-major) with an optional caption under each; RGB uint8.

    ``tile_size`` is (w, h) or one int for squares; by default the largest tile's size.
    """
    if not tiles:
        raise ValueError("expected at least one tile, found none")
    if captions is not None and len(captions) != len(tiles):
        raise ValueError(f"expected {len(tiles)} captions, found {len(captions)}")
    rgb = [as_rgb(t) for t in tiles]
    if tile_size is None:
        size = (max(t.shape[1] for t in rgb), max(t.shape[0] for t in rgb))
    else:
        size = (tile_size, tile_size) if isinstance(tile_size, int) else tile_size
    ncols = cols or math.ceil(math.sqrt(len(rgb)))
    nrows = math.ceil(len(rgb) / ncols)
    cap = _caption_height(captions)
    cell_w, cell_h = size[0] + GAP, size[1] + cap + GAP
    sheet = np.empty((nrows * cell_h + GAP, ncols * cell_w + GAP, 3), np.uint8)
    sheet[:] = BACKGROUND
    for n, tile in enumerate(rgb):
        y0, x0 = GAP + (n // ncols) * cell_h, GAP + (n % ncols) * cell_w
        sheet[y0 : y0 + size[1], x0 : x0 + size[0]] = _fit(tile, size)
        if captions:
            _put_caption(sheet, captions[n], (x0, y0 + size[1]), size[0])
    return sheet


def _put_caption(sheet: np.ndarray, text: str, corner: tuple[int, int], width: int) -> None:
    """Write ``text`` (cut to fit ``width``) in the caption strip whose top-left is ``corner``."""
    scale = 0.8
    while text:  # keys differ at their ends: cut from the front
        (tw, _), _ = cv2.getTextSize(text, _FONT, scale, 1)
        if tw <= width:
            break
        text = "~" + text[2:] if len(text) > 1 else ""
    x, y = corner
    cv2.putText(sheet, text, (x, y + 11), _FONT, scale, TEXT_COLOUR, 1, cv2.LINE_AA)
