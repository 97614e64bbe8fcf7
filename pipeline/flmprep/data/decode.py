"""Decode one sample into arrays (torch-free): the one decoder the torch dataset and the
WebDataset pipeline share, so both give the same values.

A decoded sample is a dict:

- ``key``: the sample key; ``attributes``: the dataset's attributes (``{}`` when it has none);
- ``image``: uint8 [H, W, C]: C = 3, RGB (greyscale images expanded), or C = 1, luma (for the
  greyscale models; colour images converted); JPEG through simplejpeg;
- ``landmarks``: float32 [K, 2] in output pixels; ``visible``: bool [K];
- ``transform``: float64 [2, 3], source → output;
- ``heatmaps`` (only when asked and the build has them): float32 [K, h, w], values in [0, 1].
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

import cv2
import numpy as np
import simplejpeg

from flmprep import imageio, targets
from flmprep.data.built import DataError, RawSample, SampleError, sample_json
from flmprep.errors import quoted
from flmprep.shards.sample import HEATMAP_MEMBER, real_attributes

T = TypeVar("T")
IMAGE_EXTS = ("jpg", "png", "webp")


def decode_image_bytes(data: bytes, ext: str, channels: int = 3) -> np.ndarray:
    """uint8 [H, W, channels] from the bytes of a ``jpg``, ``png`` or ``webp`` member: RGB for 3
    channels, luma for 1."""
    if channels not in (1, 3):
        raise ValueError(f"image channels: expected 1 or 3, found {channels}")
    if ext == "jpg":
        return simplejpeg.decode_jpeg(data, colorspace="RGB" if channels == 3 else "GRAY")
    rgb = imageio.decode(data).pixels
    return rgb if channels == 3 else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None]


def decode_heatmaps(data: bytes, num_points: int) -> np.ndarray:
    """float32 [K, h, w] from a tiled ``hm.png`` member (values v / 255)."""
    return targets.decode_heatmaps_png(data, num_points)


def sample_arrays(key: str, doc: dict[str, Any], where: str) -> dict[str, Any]:
    """The array fields of a parsed sample JSON (``/1`` or ``/2``)."""
    try:
        landmarks = np.asarray(doc["landmarks"], dtype=np.float32).reshape(-1, 2)
        visible = np.asarray(doc["visible"], dtype=bool)
        transform = np.asarray(doc["transform"], dtype=np.float64).reshape(2, 3)
    except (KeyError, ValueError, TypeError) as exc:
        raise DataError(f"{where}.json: expected landmarks, visible, transform (2x3): {exc}") from exc
    if visible.shape[0] != landmarks.shape[0]:
        raise DataError(f"{where}.json: expected {landmarks.shape[0]} visible flags, "
                        f"found {visible.shape[0]}")
    return {"key": key, "landmarks": landmarks, "visible": visible, "transform": transform,
            "attributes": real_attributes(doc.get("attributes"))}


def decode_sample(
    raw: RawSample, *, heatmaps: bool = False, channels: int = 3, num_points: int | None = None
) -> dict[str, Any]:
    """Decode one raw sample (see the module docstring). Anything wrong with it, including
    landmarks that are not ``num_points`` (when given), raises one ``SampleError`` naming the
    shard and key (``<split>/shard-NNNN.tar:KEY``)."""
    try:
        out = _decoded(raw, heatmaps, channels)
    except SampleError:
        raise
    except DataError as exc:
        raise SampleError(str(exc)) from exc
    except (ValueError, cv2.error, imageio.ImageError) as exc:  # simplejpeg, OpenCV, our PNG check
        raise SampleError(f"{raw.where}: expected a decodable sample, found: {quoted(str(exc))}") from exc
    if num_points is not None and out["landmarks"].shape[0] != num_points:
        raise SampleError(f"{raw.where}.json: expected {num_points} landmarks (the scheme's), "
                          f"found {out['landmarks'].shape[0]}")
    return out


def _decoded(raw: RawSample, heatmaps: bool, channels: int) -> dict[str, Any]:
    out = sample_arrays(raw.key, sample_json(raw), raw.where)
    ext = next((e for e in IMAGE_EXTS if e in raw.members), None)
    if ext is None:
        raise DataError(f"{raw.where}: expected a .jpg, .png or .webp member, found {sorted(raw.members)}")
    out["image"] = decode_image_bytes(raw.members[ext], ext, channels)
    if heatmaps:
        data = raw.members.get(HEATMAP_MEMBER)
        if data is None:
            raise DataError(f"{raw.where}: expected a .{HEATMAP_MEMBER} member (heatmaps asked), found "
                            f"{sorted(raw.members)}")
        out["heatmaps"] = decode_heatmaps(data, out["landmarks"].shape[0])
    return out


#: Uniform draws the shuffle takes from its generator at a time (one numpy call per block).
_DRAWS = 1024


def shuffled(items: Iterator[T], size: int, rng: np.random.Generator) -> Iterator[T]:
    """Buffer shuffle: keep ``size`` items, emit a random one for each new arrival, then drain."""
    if size <= 1:
        yield from items
        return
    buffer: list[T] = []
    draws: list[float] = []
    for item in items:
        if len(buffer) < size:
            buffer.append(item)
            continue
        if not draws:
            draws = rng.random(_DRAWS).tolist()[::-1]
        i = int(draws.pop() * len(buffer))
        buffer[i], item = item, buffer[i]
        yield item
    order = rng.permutation(len(buffer))
    for i in order:
        yield buffer[i]
