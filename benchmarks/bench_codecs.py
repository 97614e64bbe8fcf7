"""Codec, warp and heatmap throughput on one core: ``.venv/bin/python -m benchmarks.bench_codecs``
(from the repository root).

Decodes and encodes a real photo (tests/data/imageio) resized to CelebA-aligned (178×218),
in-the-wild (500×400) and WFLW (1024×768) sizes, compares warp_image's area pre-shrink with a
plain warpAffine and with a full-image area resize, times the heatmap codec and two small units
of work (RGB against RGBX + DCT-reduced decoding). Ratios compare columns of the same run.
Runs in about 20 CPU seconds.
"""

from __future__ import annotations

import io
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import simplejpeg
from PIL import Image

from benchmarks._common import machine, rate, table
from flmprep import geometry, imageio, targets

PHOTO = Path(__file__).resolve().parents[1] / "tests" / "data" / "imageio" / "2008_001009.jpg"
SIZES = [(178, 218), (500, 400), (1024, 768)]


def source_images() -> dict[tuple[int, int], tuple[np.ndarray, bytes]]:
    """The photo resized to each size, with its q95 4:2:0 JPEG bytes."""
    photo = imageio.read_image(PHOTO).pixels
    out = {}
    for w, h in SIZES:
        interp = cv2.INTER_AREA if w * h < photo.shape[0] * photo.shape[1] else cv2.INTER_CUBIC
        pixels = cv2.resize(photo, (w, h), interpolation=interp)
        out[(w, h)] = pixels, imageio.encode(pixels, "jpg", 95)
    return out


def bench_decode(images: dict[tuple[int, int], tuple[np.ndarray, bytes]]) -> None:
    rows = []
    for (w, h), (_, data) in images.items():
        buf = np.frombuffer(data, np.uint8)
        r = {
            "cv2": rate(partial(cv2.imdecode, buf, cv2.IMREAD_COLOR_RGB)),
            "pil": rate(partial(pil_decode, data)),
            "sj": rate(partial(simplejpeg.decode_jpeg, data, colorspace="RGB")),
            "ours": rate(partial(imageio.decode, data)),
            "ours2": rate(partial(imageio.decode, data, reduce=2)),
            "probe": rate(partial(imageio.probe, data)),
        }
        keys = ("cv2", "pil", "sj", "ours", "ours2", "probe")
        ratios = (r["sj"] / r["cv2"], r["ours"] / r["sj"], r["ours2"] / r["ours"])
        rows.append([f"{w}×{h}", *(f"{r[k]:,.0f}" for k in keys), *(f"{x:.2f}" for x in ratios)])
    header = ["image", "cv2.imdecode", "PIL", "simplejpeg", "imageio.decode", "decode reduce=2", "probe"]
    table("JPEG q95 decode (images/s)", [*header, "sj / cv2", "ours / sj", "reduce=2 / full"], rows)


def pil_decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def pil_encode(pixels: np.ndarray) -> None:
    Image.fromarray(pixels).save(io.BytesIO(), "JPEG", quality=95)


def bench_encode(images: dict[tuple[int, int], tuple[np.ndarray, bytes]]) -> None:
    photo = images[(500, 400)][0]
    rows = []
    for side in (96, 256):
        px = np.ascontiguousarray(cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA))
        bgr = cv2.cvtColor(px, cv2.COLOR_RGB2BGR)
        r = {
            "sj": rate(partial(simplejpeg.encode_jpeg, px, 95, colorspace="RGB", colorsubsampling="420")),
            "cv2": rate(partial(cv2.imencode, ".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])),
            "pil": rate(partial(pil_encode, px)),
            "ours": rate(partial(imageio.encode, px, "jpg", 95)),
            "png": rate(partial(imageio.encode, px, "png")),
            "webp": rate(partial(imageio.encode, px, "webp", 90)),
        }
        sizes = [len(imageio.encode(px, f, q)) for f, q in (("jpg", 95), ("png", 0), ("webp", 90))]
        keys = ("sj", "cv2", "pil", "ours", "png", "webp")
        kib = " / ".join(f"{s / 1024:.1f}" for s in sizes)
        rows.append([f"{side}×{side}", *(f"{r[k]:,.0f}" for k in keys), f"{r['sj'] / r['cv2']:.2f}", kib])
    header = ["output", "simplejpeg q95", "cv2 q95", "PIL q95", "imageio.encode jpg", "PNG", "WebP q90"]
    table("Encode (images/s)", [*header, "sj / cv2", "KiB jpg / png / webp"], rows)


def view(src_w: int, src_h: int, box: float, out: int, angle: float = 12.0) -> np.ndarray:
    """A recipe-like view: a square box of ``box`` source pixels at the centre, rotated, to ``out``."""
    cx, cy = src_w / 2 + 7.3, src_h / 2 - 4.1
    crop = geometry.box_to_output((cx - box / 2, cy - box / 2, cx + box / 2, cy + box / 2), out, out)
    return geometry.compose(geometry.rotate(angle, (cx, cy)), crop)


def area_then_warp(src: np.ndarray, m: np.ndarray, f: int, out: int) -> np.ndarray:
    """The naive anti-aliased warp: area-resize the whole image by ``f``, then warp."""
    small = cv2.resize(src, (src.shape[1] // f, src.shape[0] // f), interpolation=cv2.INTER_AREA)
    rest = geometry.compose(geometry.invert(geometry.area_shrink(f)), m)
    return cv2.warpAffine(small, geometry.to_2x3(rest), (out, out))


def bench_warp(images: dict[tuple[int, int], tuple[np.ndarray, bytes]]) -> None:
    cases = [((500, 400), 150, 96), ((500, 400), 200, 96), ((500, 400), 330, 96)]
    cases += [((1024, 768), 600, 256), ((1024, 768), 500, 96)]
    rows = []
    for size, box, out in cases:
        src = images[size][0]
        m = view(*size, box, out)
        f = geometry.shrink_factor(m)
        rgbx = cv2.cvtColor(src, cv2.COLOR_RGB2RGBA)
        r = {
            "ours": rate(partial(geometry.warp_image, src, m, (out, out))),
            "ours4": rate(partial(geometry.warp_image, rgbx, m, (out, out))),
            "plain": rate(partial(cv2.warpAffine, src, geometry.to_2x3(m), (out, out))),
            "area": rate(partial(area_then_warp, src, m, f, out)) if f > 1 else float("nan"),
        }
        ratios = [f"{r['ours'] / r['plain']:.2f}", f"{r['ours'] / r['area']:.2f}" if f > 1 else "–"]
        cells = [f"{r[k]:,.0f}" if r[k] == r[k] else "–" for k in ("ours", "ours4", "plain", "area")]
        rows.append([f"{size[0]}×{size[1]}, box {box} → {out}", str(f), *cells, *ratios])
    header = ["view", "pre-shrink f", "warp_image", "warp_image RGBX", "plain warpAffine (aliased)"]
    header += ["full-image area + warp", "ours / plain", "ours / full area"]
    table("Warp, linear (views/s)", header, rows)


def bench_heatmaps() -> None:
    rng = np.random.default_rng(0)
    pts, vis = rng.uniform(2, 61, (98, 2)), np.ones(98, bool)
    maps = targets.render_heatmaps(pts, vis)
    data = targets.encode_heatmaps_png(maps)
    r = {
        "render": rate(partial(targets.render_heatmaps, pts, vis)),
        "encode": rate(partial(targets.encode_heatmaps_png, maps)),
        "decode": rate(partial(targets.decode_heatmaps_png, data, 98)),
        "points": rate(partial(targets.heatmaps_to_points, maps)),
    }
    row = [f"{r[k]:,.0f}" for k in ("render", "encode", "decode", "points")] + [f"{len(data) / 1024:.1f}"]
    header = ["render", "encode PNG", "decode PNG", "to points", "PNG KiB"]
    table("Heatmaps, 98 maps of 64×64, σ 2.5 (per second)", header, [row])


def celeba_unit(data: bytes, matrices: list[np.ndarray], channels: int) -> int:
    """Decode a source once, then per view: warp to 96×96 and encode JPEG q95."""
    pixels = imageio.decode(data, channels=channels).pixels
    return sum(len(imageio.encode(geometry.warp_image(pixels, m, (96, 96)), "jpg", 95)) for m in matrices)


def wflw_unit(data: bytes, m: np.ndarray, channels: int, reduce: int) -> int:
    """Decode a 1024×768 source (optionally reduced in the DCT domain), one warp to 256, encode."""
    decoded = imageio.decode(data, channels=channels, reduce=reduce)
    to_pixels = geometry.compose(geometry.invert(geometry.area_shrink(reduce)), m)
    return len(imageio.encode(geometry.warp_image(decoded.pixels, to_pixels, (256, 256)), "jpg", 95))


def bench_units(images: dict[tuple[int, int], tuple[np.ndarray, bytes]]) -> None:
    celeba = images[(500, 400)][1]
    views = [view(500, 400, 150 + 5 * i, 96, angle=0.0) for i in range(20)]
    wflw = images[(1024, 768)][1]
    m = view(1024, 768, 600, 256)
    reduce = imageio.reduce_for(geometry.max_stretch(m))
    c3 = 20 * rate(partial(celeba_unit, celeba, views, 3), seconds=0.6)
    c4 = 20 * rate(partial(celeba_unit, celeba, views, 4), seconds=0.6)
    w3 = rate(partial(wflw_unit, wflw, m, 3, 1), seconds=0.6)
    w4 = rate(partial(wflw_unit, wflw, m, 4, reduce), seconds=0.6)
    celeba_name = "CelebA ×20: 500×400 decoded once, 20 × (warp to 96, JPEG q95)"
    wflw_name = f"WFLW: 1024×768 → 256, JPEG q95 (fast path: reduce={reduce})"
    rows = [
        [celeba_name, f"{c3:,.0f}", f"{c4:,.0f}", f"{c4 / c3:.2f}"],
        [wflw_name, f"{w3:,.0f}", f"{w4:,.0f}", f"{w4 / w3:.2f}"],
    ]
    header = ["unit (samples/s)", "RGB, full decode", "RGBX (+ DCT reduce)", "fast / plain"]
    table("Units of work with these modules (geometry, imageio; no augment, no tar)", header, rows)


def main() -> None:
    cv2.setNumThreads(1)
    print(f"bench_codecs on {machine()}; one thread; per CPU second, best of 5 rounds")
    images = source_images()
    bench_decode(images)
    bench_encode(images)
    bench_warp(images)
    bench_heatmaps()
    bench_units(images)


if __name__ == "__main__":
    main()
