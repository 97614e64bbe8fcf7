"""``--to coco``: a COCO keypoints export that mmpose 1.x (and pycocotools) read.

Layout: ``DEST/images/<split>/<key>.<ext>`` (the shard's encoded bytes, never re-encoded),
``DEST/annotations/<split>.json`` and ``DEST/dataset_info.py`` (mmpose meta-info). One image and
one annotation per sample, both with id = its 1-based position in the split.

Decisions (docs/export.md): ``bbox`` is the whole crop ``[0, 0, W, H]`` (the recipe's face box
with its margin; ``center``/``scale`` = its centre and ``max(W, H) / 200`` for mmpose's WFLW-style
datasets); every landmark is labelled, ``v`` = 2 inside the crop and 1 outside it (coordinates
kept), so ``num_keypoints`` = K; coordinates are the sample JSON's (0-based, pixel centres at
integers). ``annotation["flmprep"]`` keeps the sample key, its source and ``transform`` (source
pixels -> crop pixels) to score predictions in source pixels.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flmprep import __version__
from flmprep.atomic import atomic_output, write_atomic
from flmprep.export.common import ExportContext, SplitExport, Target
from flmprep.export.mmpose import dataset_info_source
from flmprep.export.source import ExportError, ExportSample
from flmprep.jsonio import canonical_json
from flmprep.schemes import Scheme

IMAGES = "images"
ANNOTATIONS = "annotations"
META_FILE = "dataset_info.py"
CATEGORY_ID = 1
V_INSIDE, V_OUTSIDE = 2, 1


def category(scheme: Scheme) -> dict[str, Any]:
    """The one COCO category: a face with the scheme's keypoint names (no skeleton)."""
    return {"id": CATEGORY_ID, "name": "face", "supercategory": "face", "keypoints": list(scheme.names),
            "skeleton": []}


def annotation(sample: ExportSample, ann_id: int) -> dict[str, Any]:
    """The sample's COCO keypoint annotation (see the module docstring for the choices)."""
    doc = sample.doc
    w, h = sample.width, sample.height
    keypoints: list[float] = []
    for (x, y), inside in zip(doc["landmarks"], doc["visible"], strict=True):
        keypoints += [x, y, V_INSIDE if inside else V_OUTSIDE]
    return {
        "id": ann_id, "image_id": ann_id, "category_id": CATEGORY_ID,
        "keypoints": keypoints, "num_keypoints": len(doc["landmarks"]),
        "bbox": [0.0, 0.0, float(w), float(h)], "area": float(w * h), "iscrowd": 0,
        "center": [w / 2, h / 2], "scale": max(w, h) / 200,
        "flmprep": {"key": sample.key, "source": doc.get("source"), "transform": doc["transform"]},
    }


def image_entry(sample: ExportSample, image_id: int) -> dict[str, Any]:
    """The COCO image entry; ``file_name`` is relative to ``DEST/images``."""
    return {"id": image_id, "file_name": f"{sample.split}/{sample.key}.{sample.image_format}",
            "width": sample.width, "height": sample.height}


def _write_image(folder: Path, sample: ExportSample) -> None:
    path = folder / f"{sample.key}.{sample.image_format}"
    if path.exists():
        raise ExportError(f"{path}: expected one sample per key, found {sample.key!r} twice in "
                          f"split {sample.split}")
    write_atomic(path, sample.image)


def write_split(ctx: ExportContext, split: str, samples: Iterable[ExportSample]) -> SplitExport:
    """Write the split's images and, last, its annotation file (streamed: memory stays flat)."""
    folder = ctx.dest / IMAGES / split
    folder.mkdir(parents=True)
    ann_path = ctx.dest / ANNOTATIONS / f"{split}.json"
    ann_path.parent.mkdir(exist_ok=True)
    info = {"description": f"flmprep export of {ctx.manifest.dataset} ({split})", "version": __version__,
            "contributor": "flmprep", "config_hash": ctx.manifest.config_hash}
    n = 0
    with atomic_output(ann_path) as out, tempfile.TemporaryFile(dir=ann_path.parent) as images:
        out.write(b'{"annotations":[')
        for sample in samples:
            n += 1
            comma = b"," if n > 1 else b""
            _write_image(folder, sample)
            out.write(comma + canonical_json(annotation(sample, n)))
            images.write(comma + canonical_json(image_entry(sample, n)))
        out.write(b'],"categories":' + canonical_json([category(ctx.scheme)]) + b',"images":[')
        images.seek(0)
        shutil.copyfileobj(images, out)
        out.write(b'],"info":' + canonical_json(info) + b',"licenses":[]}\n')
    return SplitExport(split, n, f"{ANNOTATIONS}/{split}.json")


def write_shared(ctx: ExportContext) -> tuple[str, ...]:
    """``DEST/dataset_info.py``: the mmpose meta-info of the build's scheme."""
    write_atomic(ctx.dest / META_FILE, dataset_info_source(ctx.scheme, ctx.manifest.dataset).encode())
    return (META_FILE,)


def check() -> None:
    """Writing COCO needs no optional package (reading it back uses pycocotools: ``[coco]``)."""


TARGET = Target("coco", check, write_split, write_shared)
