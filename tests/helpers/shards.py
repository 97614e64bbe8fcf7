"""Sample members for the inspect/verify/schema/tar-safety tests (and the inspect benchmark):
sample JSON documents that follow docs/architecture.md, small images and heatmaps; shards and
datasets are written by ``tests.helpers.golden``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from flmprep.schemes import get_scheme
from tests.helpers import golden
from tests.helpers.golden import Members, dumps, tar_bytes, write_shard

__all__ = ["Members", "as_v1", "dumps", "sample_doc", "sample_members", "shard_members", "tar_bytes",
           "write_dataset",
           "write_shard"]


def image_bytes(width: int, height: int, fmt: str = "jpg", channels: int = 3, seed: int = 0) -> bytes:
    """A small encoded test image (a smooth gradient plus noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = ((xx * 255) // max(width - 1, 1) + (yy * 128) // max(height - 1, 1)) % 256
    pixels = np.clip(base[:, :, None] + rng.integers(-20, 20, (height, width, channels)), 0, 255)
    ok, buf = cv2.imencode(f".{fmt}", pixels.astype(np.uint8).squeeze())
    assert ok
    return buf.tobytes()


def heatmap_bytes(k: int, size: int = 16) -> tuple[bytes, list[int]]:
    """A tiled uint8 heatmap PNG for K maps of size×size, and its [cols, rows]."""
    cols = math.ceil(math.sqrt(k))
    rows = math.ceil(k / cols)
    tiles = np.zeros((rows * size, cols * size), np.uint8)
    for i in range(k):
        r, c = divmod(i, cols)
        tiles[r * size + size // 2, c * size + size // 2] = 255
    ok, buf = cv2.imencode(".png", tiles)
    assert ok
    return buf.tobytes(), [cols, rows]


def sample_doc(
    record: str,
    view: int = 0,
    *,
    scheme: str = "celeba5",
    split: str = "train",
    size: tuple[int, int] = (96, 96),
    fmt: str = "jpg",
    channels: int = 3,
    seed: int = 0,
    version: int = 2,
) -> dict[str, Any]:
    """A sample JSON document with K landmarks spread over the image (``version`` 1: the
    ``flmprep.sample/1`` shape older builds wrote)."""
    k = get_scheme(scheme).num_points
    rng = np.random.default_rng(seed)
    w, h = size
    pts = np.round(rng.uniform([2, 2], [w - 3, h - 3], (k, 2)), 4)
    if view % 3 == 2:
        pts[0] = (-1.5, 3.25)  # one point outside the image
    doc = {
        "schema": "flmprep.sample/2",
        "key": f"{record}_v{view:02d}",
        "dataset": "celeba",
        "split": split,
        "scheme": scheme,
        "image": {"format": fmt, "width": w, "height": h, "channels": channels},
        "landmarks": pts.tolist(),
        "visible": [bool(0 <= x <= w - 1 and 0 <= y <= h - 1) for x, y in pts],
        "bbox": [*pts.min(axis=0).tolist(), *pts.max(axis=0).tolist()],
        "source": {
            "image": f"img/{record}.jpg",
            "face": 0,
            "width": 500,
            "height": 400,
            "record": record,
            "bbox": [100.0, 80.0, 300.0, 290.0],
            "bbox_kind": "annotation",
        },
        "transform": [
            [0.5, 0.0, -10.25 + view],
            [0.0, 0.5, -3.0],
        ],
        "augment": {
            "recipe": "celeba",
            "view": view,
            "seed": str(18446744073709551000 + view),
            "angle": 5.0 * view,
            "scale": 1.0 + 0.01 * view,
            "flip": view % 2 == 1,
            "params": {"angle": 5.0 * view, "pivot": [200.0, 185.0], "box": [100.0, 80.0, 300.0, 290.0],
                       "flip": view % 2 == 1, "scale": 1.0 + 0.01 * view, "out_size": [w, h]},
            "photometric": {"applied": False, "brightness": 1.0, "contrast": 1.0, "gamma": 1.0,
                            "saturation": 1.0, "hue": 0.0},
            "reduce": 1,
        },
        "attributes": {"none": True},
    }
    return doc if version == 2 else as_v1(doc)


def as_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """The ``flmprep.sample/1`` form of a ``/2`` document: integer seed, null photometric when
    none applied, null source box, empty attributes."""
    old = json.loads(json.dumps(doc))
    old["schema"] = "flmprep.sample/1"
    old["augment"]["seed"] = int(old["augment"]["seed"])
    old["augment"]["photometric"] = None
    del old["augment"]["reduce"]
    old["source"]["bbox"] = None
    del old["source"]["bbox_kind"]
    old["attributes"] = {}
    return old


def sample_members(doc: dict[str, Any], *, heatmap: bool = False, seed: int = 0) -> Members:
    """The members of one sample (sorted by name); adds ``heatmap`` settings to ``doc`` when asked."""
    key, image = doc["key"], doc["image"]
    members = [
        (
            f"{key}.{image['format']}",
            image_bytes(image["width"], image["height"], image["format"], image["channels"], seed),
        )
    ]
    if heatmap:
        data, tiles = heatmap_bytes(len(doc["landmarks"]))
        doc["heatmap"] = {"member": "hm.png", "size": [16, 16], "sigma": 2.5, "tiles": tiles}
        members.append((f"{key}.hm.png", data))
    members.append((f"{key}.json", dumps(doc)))
    return sorted(members)


def shard_members(
    records: list[str],
    views: int = 1,
    *,
    heatmap: bool = False,
    scheme: str = "celeba5",
    split: str = "train",
    size: tuple[int, int] = (96, 96),
    version: int = 2,
) -> Members:
    """All members of a shard with ``views`` samples per record, in sorted name order."""
    members: Members = []
    for i, record in enumerate(records):
        for view in range(views):
            doc = sample_doc(record, view, scheme=scheme, split=split, size=size, seed=i * 100 + view,
                             version=version)
            members += sample_members(doc, heatmap=heatmap, seed=i)
    return sorted(members)


def write_dataset(out: Path, layout: dict[str, list[int]], *, heatmap: bool = False,
                  version: int = 2) -> dict[str, Any]:
    """A built dataset: per split, shards holding the given numbers of samples; returns the
    manifest (``version`` 1: samples, sidecars and manifest as builds before sample /2 wrote them)."""
    shards = {
        split: [shard_members([f"celeba_{split}{n:02d}{i:04d}_f0" for i in range(count)], heatmap=heatmap,
                              split=split, version=version) for n, count in enumerate(counts)]
        for split, counts in layout.items()
    }
    return golden.write_dataset(out, shards, legacy=version == 1)
