"""Evaluation from source images, the way a user meets faces: the native dataset's records (not
shards), a face box per record (``truth``, ``jitter`` or ``detector``), the predict path with
``iterations`` passes, and the metrics of every pass count 1..N.

Box modes: ``truth`` is the record's annotated box (its landmark extent when the format has no
boxes); ``jitter`` moves each edge of that box by a seeded uniform ±10 % of the box's width
(left, right) or height (top, bottom), standing for a detector; ``detector`` runs the Haar
detector on each image and gives each face the detection that holds its landmark centre. A face
without a box (missed by the detector) or whose image cannot be read counts as a failure at
every threshold and is listed; the NME mean is over the faces that were predicted.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from flmprep import imageio
from flmprep.augment import seed_for
from flmprep.formats import read_dataset
from flmprep.inference.calibration import ANNOTATED, HAAR, LANDMARKS, box_size, extent
from flmprep.inference.haar import Box, match
from flmprep.predict.predictor import Predictor, SourceImage
from flmprep.records import FaceRecord
from flmprep.train.metrics import Protocol, nme_per_face, protocol_for, subset_metrics, summarise

log = logging.getLogger(__name__)

BOX_MODES = ("truth", "jitter", "detector")
JITTER = 0.10


@dataclass(frozen=True)
class Unpredicted:
    """A face the predict path gave no landmarks for: its record key and why."""

    key: str
    reason: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"key": self.key, "reason": self.reason, "message": self.message}


@dataclass(frozen=True)
class SourceEvaluation:
    """Per pass count 1..N, a report like ``evaluate`` on shards prints; the faces not predicted."""

    split: str
    boxes: str
    reports: tuple[dict[str, Any], ...]
    unpredicted: tuple[Unpredicted, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "boxes": self.boxes,
            "reports": list(self.reports),
            "unpredicted": [u.to_json() for u in self.unpredicted],
        }


def truth_box(record: FaceRecord) -> tuple[Box, str]:
    """The annotated box, or the landmark extent when the record has none, and its box source."""
    if record.bbox is not None:
        return record.bbox, ANNOTATED
    return extent(np.asarray(record.landmarks, dtype=np.float64)), LANDMARKS


def jitter_box(box: Box, key: str, seed: int) -> Box:
    """``box`` with each edge moved by a uniform ±``JITTER`` of its size, seeded by the record key."""
    w, h = box_size(box)
    u = np.random.default_rng(seed_for(seed, key, 0)).uniform(-JITTER, JITTER, 4)
    return box[0] + u[0] * w, box[1] + u[1] * h, box[2] + u[2] * w, box[3] + u[3] * h


def _by_image(records: Sequence[FaceRecord]) -> Iterator[list[FaceRecord]]:
    groups: dict[str, list[FaceRecord]] = {}
    for r in records:
        groups.setdefault(r.image, []).append(r)
    yield from groups.values()


def _boxes(
    predictor: Predictor, image: SourceImage, faces: list[FaceRecord], mode: str, seed: int
) -> list[tuple[Box, str] | None]:
    """A box and its source per face, None where the detector found none for it."""
    if mode == "detector":
        found = predictor.detect(image.pixels)
        exts = [extent(np.asarray(r.landmarks, dtype=np.float64)) for r in faces]
        return [None if d is None else (found[d], HAAR) for d in match(found, exts)]
    boxes = [truth_box(r) for r in faces]
    if mode == "jitter":
        return [(jitter_box(b, r.key, seed), s) for (b, s), r in zip(boxes, faces, strict=True)]
    return list(boxes)


def evaluate_sources(
    predictor: Predictor,
    dataset: str,
    root: str | Path,
    split: str = "test",
    boxes: str = "truth",
    iterations: int = 3,
    seed: int = 0,
    split_protocol: str | None = None,
) -> SourceEvaluation:
    """Predict every face of ``split`` of the native dataset at ``root`` (split by ``split_protocol``,
    default the dataset's) from its image, with ``iterations`` passes each (no early stop), and
    score every pass count."""
    if boxes not in BOX_MODES:
        raise ValueError(f"boxes: expected one of {', '.join(BOX_MODES)}, found {boxes!r}")
    root = Path(root)
    every = list(read_dataset(dataset, root, protocol=split_protocol))
    records = [r for r in every if r.split == split]
    if not records:
        have = ", ".join(sorted({r.split for r in every})) or "no records"
        raise ValueError(
            f"{root}: expected records of split {split!r} in the {dataset} annotations, found: {have}"
        )
    errors = np.full((len(records), iterations), np.inf)
    unpredicted: list[Unpredicted] = []
    row = {r.key: i for i, r in enumerate(records)}
    groups = list(_by_image(records))
    for faces in tqdm(groups, desc=f"evaluate-{split}", unit="image", leave=False, disable=None):
        try:
            image = SourceImage.read(root / faces[0].image)
        except imageio.ImageError as exc:
            unpredicted += [Unpredicted(r.key, exc.reason, str(exc)) for r in faces]
            continue
        for record, found in zip(faces, _boxes(predictor, image, faces, boxes, seed), strict=True):
            if found is None:
                unpredicted.append(
                    Unpredicted(record.key, "no_face", "the detector found no box holding the face")
                )
                continue
            result = predictor.refine(image, found[0], found[1], iterations=iterations, tolerance=0.0)
            errors[row[record.key]] = _nme(predictor, record, [p.landmarks for p in result.passes])
    log.info("%d of %d faces not predicted", len(unpredicted), len(records))
    attributes = [dict(r.attributes) for r in records]
    protocol = protocol_for(predictor.scheme.name)
    reports = tuple(
        _report(errors[:, k], attributes, protocol, k + 1, (split, boxes)) for k in range(iterations)
    )
    return SourceEvaluation(split, boxes, reports, tuple(unpredicted))


def _nme(predictor: Predictor, record: FaceRecord, passes: list[np.ndarray]) -> list[float]:
    truth = np.asarray(record.landmarks, dtype=np.float64)
    nme = nme_per_face(np.stack(passes), np.stack([truth] * len(passes)), predictor.scheme)
    return [float(v) for v in nme]


def _summary(nme: np.ndarray, protocol: Protocol) -> dict[str, Any]:
    """``metrics.summarise`` with unpredicted faces (inf) as failures, the NME mean over the rest
    (NaN when no face was predicted)."""
    doc = summarise(nme, protocol).to_json()
    finite = nme[np.isfinite(nme)]
    doc["nme"] = float(finite.mean()) if finite.size else math.nan
    doc["unpredicted"] = int(nme.size - finite.size)
    return doc


def _report(
    nme: np.ndarray,
    attributes: list[dict[str, Any]],
    protocol: Protocol,
    iterations: int,
    where: tuple[str, str],
) -> dict[str, Any]:
    """One pass count's report, shaped as ``evaluate`` on shards reports (``train.predict.Report``)."""
    subsets = subset_metrics(nme, attributes, protocol)
    flags = {name: np.array([bool(a.get(name)) for a in attributes]) for name in subsets}
    return {
        "split": where[0],
        "boxes": where[1],
        "iterations": iterations,
        "protocol": protocol.to_json(),
        "parts": {},
        **_summary(nme, protocol),
        "subsets": {name: _summary(nme[mask], protocol) for name, mask in flags.items()},
    }
