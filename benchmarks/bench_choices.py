"""The small design choices in the library, each timed against the alternative it replaced:
``python -m benchmarks.bench_choices`` (about 15 CPU seconds, one thread).

- ``augment.rng_for`` (a reused PCG64 whose state is set from a hash) against
  ``numpy.random.default_rng(seed)``, drawing a view's 10 uniforms;
- the sample JSON (``shards.sample.dumps``, orjson) against ``json.dumps`` with the same
  canonical settings, on a real 98-point sample document;
- the heatmap sheet PNG (``targets.grey_png``: no filter, one IDAT, zlib RLE) against
  ``cv2.imencode(".png")``, with both sizes;
- the area pre-shrink as repeated 2×2 ``INTER_AREA`` halvings (what ``geometry.warp_image``
  does) against one ``INTER_AREA`` resize by the same factor, and by the 3× and 5× factors
  that are not powers of two;
- ``imageio.probe`` given a ``str`` against a ``pathlib.Path``.

Rates are calls per CPU second, best of 5 rounds (``benchmarks._common.rate``); ratios compare
columns of the same run.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from benchmarks._common import machine, rate, table
from flmprep import augment, imageio, targets
from flmprep.records import FaceRecord
from flmprep.shards import sample
from flmprep.synth.faces import template

PHOTO = Path(__file__).resolve().parents[1] / "tests" / "data" / "imageio" / "2008_001009.jpg"


def row(what: str, ours: float, theirs: float, note: str = "") -> list[str]:
    """One table row: both rates as µs a call, and how many times faster ours is."""
    return [what, f"{1e6 / ours:.2f}", f"{1e6 / theirs:.2f}", f"{ours / theirs:.1f}×", note]


def bench_rng() -> list[str]:
    def ours(seed: int) -> np.ndarray:
        return augment.rng_for(seed).random(10)

    def theirs(seed: int) -> np.ndarray:
        return np.random.default_rng(seed).random(10)

    return row("view uniforms: `rng_for` vs `default_rng`", rate(partial(ours, 12345)),
               rate(partial(theirs, 12345)))


def sample_document() -> dict[str, object]:
    """The JSON of a real 256×256 wflw98 view (photometric jitter on)."""
    points = template("wflw98") * 150.0 + (512.0, 384.0)
    rec = FaceRecord("bench_img_f0", "wflw", "train", "img.jpg", 0, "wflw98", points.astype(np.float32))
    recipe = augment.get_recipe("wflw", photometric=True)
    pixels = np.zeros((768, 1024, 3), np.uint8)
    view = augment.render_view(recipe, pixels, rec, view=0, build_seed=1, split="train")
    image = {"format": "jpg", "width": 256, "height": 256, "channels": 3}
    return sample.sample_doc("bench_img_f0_v00", rec, "train", (1024, 768), view, image, None)


def bench_json() -> list[str]:
    doc = sample_document()
    plain = partial(json.dumps, doc, sort_keys=True, separators=(",", ":"))
    return row("sample JSON: orjson vs `json.dumps`", rate(partial(sample.dumps, doc)), rate(plain))


def bench_png() -> list[str]:
    pts = np.random.default_rng(0).uniform(4, 60, (98, 2))
    maps = targets.render_heatmaps(pts, np.ones(98, bool))
    cols, rows = targets.tile_grid(98)
    sheet = np.zeros((rows * 64, cols * 64), np.uint8)
    for k, m in enumerate(maps):
        r, c = divmod(k, cols)
        sheet[r * 64:(r + 1) * 64, c * 64:(c + 1) * 64] = np.rint(m * 255.0).astype(np.uint8)
    ours, theirs = len(targets.grey_png(sheet)), len(cv2.imencode(".png", sheet)[1])
    return row("heatmap sheet PNG (98 × 64×64): `grey_png` vs `cv2.imencode`",
               rate(partial(targets.grey_png, sheet)), rate(partial(cv2.imencode, ".png", sheet)),
               f"{ours / 1024:.1f} KiB vs {theirs / 1024:.1f} KiB")


def halvings(image: np.ndarray, f: int) -> np.ndarray:
    for _ in range(f.bit_length() - 1):
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return image


def one_resize(image: np.ndarray, f: int) -> np.ndarray:
    return cv2.resize(image, (image.shape[1] // f, image.shape[0] // f), interpolation=cv2.INTER_AREA)


def bench_area() -> list[list[str]]:
    photo = imageio.read_image(PHOTO).pixels
    crop = np.ascontiguousarray(cv2.resize(photo, (480, 480), interpolation=cv2.INTER_AREA))
    rows = []
    for f in (2, 4, 8):
        rows.append(row(f"area shrink ÷{f} of 480×480: 2×2 halvings vs one resize",
                        rate(partial(halvings, crop, f)), rate(partial(one_resize, crop, f))))
    for f, g in ((3, 2), (5, 4)):
        rows.append(row(f"area shrink of 480×480: halvings ÷{g} vs one resize ÷{f}",
                        rate(partial(halvings, crop, g)), rate(partial(one_resize, crop, f))))
    return rows


def bench_probe() -> list[str]:
    return row("`imageio.probe` of a JPEG: str vs Path", rate(partial(imageio.probe, str(PHOTO))),
               rate(partial(imageio.probe, PHOTO)))


def main() -> None:
    cv2.setNumThreads(1)
    print(f"bench_choices on {machine()}; one thread; per CPU second, best of 5 rounds")
    rows = [bench_rng(), bench_json(), bench_png(), *bench_area(), bench_probe()]
    table("Design choices against their alternatives", ["choice", "ours µs", "other µs", "ours faster", ""],
          rows)


if __name__ == "__main__":
    main()
