"""Write small built datasets (tar shards + manifest.json) in the documented sample format.

For the trainer's tests, independent of ``flmprep build``: each sample is a dark
image with a bright face-like pattern drawn around its landmarks (a learnable
signal), a similarity transform source → output, and the JSON fields of
docs/architecture.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import simplejpeg

from tests.helpers import golden

# celeba5 mean shape in a 96×96 crop: eyes, nose, mouth corners (x, y).
MEAN_SHAPE = np.array([[34.0, 40.0], [62.0, 40.0], [48.0, 55.0], [37.0, 70.0], [59.0, 70.0]])
WFLW_FLAGS = ("pose", "expression", "illumination", "makeup", "occlusion", "blur")
#: Scheme → (dataset name, points) of the samples written.
SCHEMES = {"celeba5": ("celeba", 5), "ibug68": ("300w", 68)}


def _landmarks(rng: np.random.Generator, size: int, k: int = 5) -> np.ndarray:
    if k != len(MEAN_SHAPE):  # K points on a jittered ellipse around the centre
        t = np.linspace(0.0, 2.0 * np.pi, k, endpoint=False)
        ring = np.stack([np.cos(t) * 0.3, np.sin(t) * 0.38], axis=1) * size + size / 2.0
        return (ring + rng.normal(0.0, 1.0, size=(k, 2))).astype(np.float32)
    scale = size / 96.0 * rng.uniform(0.85, 1.15)
    centre = np.array([size / 2.0, size / 2.0]) + rng.uniform(-8, 8, size=2) * size / 96.0
    pts = (MEAN_SHAPE - 48.0) * scale + centre + rng.normal(0.0, 1.0, size=MEAN_SHAPE.shape)
    return pts.astype(np.float32)


def _image(pts: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    img = rng.integers(0, 40, size=(size, size, 3), dtype=np.uint8)
    centre = pts.mean(axis=0)
    axes = (int(abs(pts[1, 0] - pts[0, 0]) * 1.1), int(abs(pts[3, 1] - pts[0, 1]) * 1.4))
    cv2.ellipse(img, (int(centre[0]), int(centre[1])), axes, 0, 0, 360, (90, 90, 90), -1)
    for x, y in pts:
        cv2.circle(img, (round(float(x)), round(float(y))), max(2, size // 40), (250, 250, 250), -1)
    return img


def _transform(rng: np.random.Generator) -> np.ndarray:
    """A source → output similarity (scale, small rotation, shift) as 2×3."""
    s, a = rng.uniform(0.3, 0.6), rng.uniform(-0.3, 0.3)
    c, d = s * np.cos(a), s * np.sin(a)
    return np.array([[c, -d, rng.uniform(-60, -10)], [d, c, rng.uniform(-60, -10)]])


def sample_doc(
    key: str,
    split: str,
    pts: np.ndarray,
    size: int,
    tf: np.ndarray,
    attrs: dict[str, Any],
    scheme: str = "celeba5",
) -> dict:
    """The KEY.json document of one sample."""
    visible = [bool(0 <= x <= size - 1 and 0 <= y <= size - 1) for x, y in pts]
    return {
        "schema": "flmprep.sample/2",
        "key": key,
        "dataset": SCHEMES[scheme][0],
        "split": split,
        "scheme": scheme,
        "image": {"format": "jpg", "width": size, "height": size, "channels": 3},
        "landmarks": [[round(float(x), 4), round(float(y), 4)] for x, y in pts],
        "visible": visible,
        "bbox": [round(float(v), 4) for v in (*pts.min(axis=0), *pts.max(axis=0))],
        "source": {
            "image": f"img/{key}.jpg",
            "face": 0,
            "width": 500,
            "height": 400,
            "record": key,
            "bbox": [100.0, 80.0, 300.0, 290.0],
            "bbox_kind": "annotation",
        },
        "transform": tf.tolist(),
        "augment": {
            "recipe": "celeba",
            "view": 0,
            "seed": "0",
            "angle": 0.0,
            "scale": 1.0,
            "flip": False,
            "params": {"angle": 0.0, "pivot": [200.0, 185.0], "box": [100.0, 80.0, 300.0, 290.0],
                       "flip": False, "scale": 1.0, "out_size": [size, size]},
            "photometric": {"applied": False, "brightness": 1.0, "contrast": 1.0, "gamma": 1.0,
                            "saturation": 1.0, "hue": 0.0},
            "reduce": 1,
        },
        "attributes": attrs or {"none": True},
    }


def shard_members(
    split: str,
    index: int,
    count: int,
    size: int,
    rng: np.random.Generator,
    flags: bool,
    scheme: str = "celeba5",
) -> tuple[golden.Members, list[str]]:
    """The members of one shard of ``count`` samples (sorted by name) and their keys in tar order."""
    members: dict[str, bytes] = {}
    keys = []
    for i in range(count):
        key = f"synth_{split}_{index:04d}_{i:05d}_f0_v00"
        pts = _landmarks(rng, size, SCHEMES[scheme][1])
        attrs = {f: int(rng.random() < 0.3) for f in WFLW_FLAGS} if flags else {}
        doc = sample_doc(key, split, pts, size, _transform(rng), attrs, scheme)
        members[f"{key}.jpg"] = simplejpeg.encode_jpeg(_image(pts, size, rng), quality=92, colorspace="RGB")
        members[f"{key}.json"] = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        keys.append(key)
    return sorted(members.items()), keys


def write_dataset(
    root: Path,
    splits: Mapping[str, Sequence[int]],
    *,
    size: int = 96,
    seed: int = 0,
    flags: bool = False,
    scheme: str = "celeba5",
) -> dict[str, list[str]]:
    """A dataset at ``root``: per split, shards holding the given sample counts; returns keys per
    split. ``scheme``: ``celeba5`` (a 5-point face) or ``ibug68`` (68 points on an ellipse)."""
    rng = np.random.default_rng(seed)
    shards: dict[str, list[golden.Members]] = {}
    keys: dict[str, list[str]] = {}
    for split, counts in splits.items():
        shards[split], keys[split] = [], []
        for index, count in enumerate(counts):
            members, shard_keys = shard_members(split, index, count, size, rng, flags, scheme)
            shards[split].append(members)
            keys[split] += shard_keys
    name = SCHEMES[scheme][0]
    golden.write_dataset(root, shards, dataset=name, scheme=scheme, recipe=name, config={"size": size})
    return keys
