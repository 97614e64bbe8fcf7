"""Where a face box puts the landmarks: the box → landmark-extent relation, measured on the
training split's faces for each box source and stored with the model.

A relation is four medians over the training faces: the landmark extent's centre offset from
the box centre (``dx``, ``dy``, as fractions of the box's width and height) and its size
(``sx``, ``sy``, likewise). Box sources: ``annotated`` (the dataset's own boxes, which boxes
given by the user are taken to resemble) and ``haar`` (``haar.HaarDetector`` on the training
images). ``landmarks`` is the exact case, a box that is the landmark extent itself.

The first prediction pass turns a box into an estimated landmark extent with its source's
relation; recipes that crop around the annotated box (``300w``) get the box back from an extent
through the inverse of the ``annotated`` relation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flmprep import imageio
from flmprep.inference.errors import InferenceError
from flmprep.inference.haar import Box, HaarDetector, match
from flmprep.jsonio import parse_json
from flmprep.shards.reader import iter_samples

log = logging.getLogger(__name__)

ANNOTATED, HAAR, LANDMARKS = "annotated", "haar", "landmarks"
BOX_SOURCES = (ANNOTATED, HAAR, LANDMARKS)
#: Faces read from the training shards to calibrate (a random sample: shards are permuted).
CALIBRATION_FACES = 2000
#: Images the Haar detector runs on while calibrating.
HAAR_IMAGES = 300


def box_size(box: Box) -> tuple[float, float]:
    """Width and height of a box with inclusive pixel-centre corners (its pixel edges' span)."""
    return box[2] - box[0] + 1.0, box[3] - box[1] + 1.0


def extent(points: np.ndarray) -> Box:
    lo, hi = np.min(points, axis=0), np.max(points, axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


@dataclass(frozen=True)
class BoxRelation:
    """Landmark extent from a box: centre = box centre + (dx·w, dy·h), size = (sx·w, sy·h)."""

    dx: float
    dy: float
    sx: float
    sy: float
    faces: int

    def extent_from_box(self, box: Box) -> Box:
        w, h = box_size(box)
        cx = (box[0] + box[2]) / 2 + self.dx * w
        cy = (box[1] + box[3]) / 2 + self.dy * h
        ew, eh = self.sx * w, self.sy * h
        return cx - ew / 2, cy - eh / 2, cx + ew / 2, cy + eh / 2

    def box_from_extent(self, ext: Box) -> Box:
        """The inverse: the box whose relation gives ``ext``."""
        w, h = (ext[2] - ext[0]) / self.sx, (ext[3] - ext[1]) / self.sy
        cx = (ext[0] + ext[2]) / 2 - self.dx * w
        cy = (ext[1] + ext[3]) / 2 - self.dy * h
        return cx - (w - 1) / 2, cy - (h - 1) / 2, cx + (w - 1) / 2, cy + (h - 1) / 2

    def to_json(self) -> dict[str, Any]:
        return {"dx": self.dx, "dy": self.dy, "sx": self.sx, "sy": self.sy, "faces": self.faces}

    @classmethod
    def from_json(cls, doc: dict[str, Any], where: str) -> BoxRelation:
        try:
            values = {k: float(doc[k]) for k in ("dx", "dy", "sx", "sy")}
            relation = cls(**values, faces=int(doc["faces"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InferenceError(f"{where}: expected dx, dy, sx, sy and faces, found {doc!r}") from exc
        if not (relation.sx > 0 and relation.sy > 0):
            raise InferenceError(f"{where}: expected positive sx and sy, found {relation.sx}, {relation.sy}")
        return relation


def fit_relation(boxes: Sequence[Box], extents: Sequence[Box]) -> BoxRelation | None:
    """The medians over (box, landmark extent) pairs; None without pairs."""
    if not boxes:
        return None
    rows = []
    for box, ext in zip(boxes, extents, strict=True):
        w, h = box_size(box)
        rows.append(
            (
                ((ext[0] + ext[2]) - (box[0] + box[2])) / 2 / w,
                ((ext[1] + ext[3]) - (box[1] + box[3])) / 2 / h,
                (ext[2] - ext[0]) / w,
                (ext[3] - ext[1]) / h,
            )
        )
    dx, dy, sx, sy = (float(v) for v in np.median(np.asarray(rows), axis=0))
    return BoxRelation(dx, dy, sx, sy, len(rows))


@dataclass(frozen=True, eq=False)
class Calibration:
    """The measured relation of each box source, and the detector settings the ``haar`` one holds for."""

    relations: dict[str, BoxRelation] = field(default_factory=dict)
    detector: dict[str, Any] = field(default_factory=lambda: HaarDetector().settings())

    def require(self, source: str) -> None:
        """Raise ``InferenceError`` (saying what to do) unless boxes from ``source`` can be used."""
        if source != LANDMARKS and source not in self.relations:
            raise InferenceError(_missing(source))

    def extent_from_box(self, box: Box, source: str) -> Box:
        """The estimated landmark extent of the face in ``box`` from ``source``."""
        self.require(source)
        if source == LANDMARKS:
            return box
        return self.relations[source].extent_from_box(box)

    def training_box(self, ext: Box) -> Box | None:
        """The box a training record would carry for a face of landmark extent ``ext`` (None when
        the training records had no boxes)."""
        relation = self.relations.get(ANNOTATED)
        return None if relation is None else relation.box_from_extent(ext)

    def detector_for(self, min_face: int) -> HaarDetector:
        """The Haar detector with the settings the calibration measured, finding faces >= ``min_face``."""
        return HaarDetector(min_face=min_face, **self.detector)

    def to_json(self) -> dict[str, Any]:
        return {
            "relations": {k: v.to_json() for k, v in sorted(self.relations.items())},
            "detector": dict(self.detector),
        }

    @classmethod
    def from_json(cls, doc: Any, where: str) -> Calibration:
        if not isinstance(doc, dict) or not isinstance(doc.get("relations"), dict):
            raise InferenceError(f"{where}: expected an object with 'relations', found {doc!r:.80}")
        relations = {
            k: BoxRelation.from_json(v, f"{where}.relations.{k}") for k, v in doc["relations"].items()
        }
        unknown = sorted(set(relations) - {ANNOTATED, HAAR})
        if unknown:
            raise InferenceError(f"{where}.relations: expected annotated or haar, found {unknown}")
        detector = doc.get("detector", HaarDetector().settings())
        return cls(relations, dict(detector))


def _missing(source: str) -> str:
    if source == HAAR:
        return (
            "calibration: expected a relation for Haar boxes, found none: the model was trained "
            "without --source-root (or the detector found no training face); give --boxes instead"
        )
    if source == ANNOTATED:
        return (
            "calibration: expected a relation for given boxes, found none: the training records had "
            "no face boxes; use --detector haar"
        )
    return f"calibration: expected a box source in {', '.join(BOX_SOURCES)}, found {source!r}"


@dataclass(frozen=True, eq=False)
class TrainingFace:
    """One training face as a shard's sample describes it: image path (relative to the dataset
    root), landmarks in source pixels, the annotated box or None."""

    image: str
    points: np.ndarray
    bbox: Box | None


def faces_from_shards(
    root: Path, shard_paths: Iterable[str], limit: int = CALIBRATION_FACES
) -> list[TrainingFace]:
    """Up to ``limit`` distinct faces from the shards' sample JSON, landmarks mapped back to
    source pixels through the inverse of each sample's transform."""
    faces: dict[str, TrainingFace] = {}
    for where, doc in _sample_docs(root, shard_paths):
        try:
            record, face = _training_face(doc)
        except (KeyError, TypeError, ValueError, AttributeError, np.linalg.LinAlgError) as exc:
            log.warning("calibration skips %s: expected source.image, transform and landmarks in the sample "
                        "JSON, found %r", where, exc)
            continue
        faces.setdefault(record, face)
        if len(faces) >= limit:
            break
    return list(faces.values())


def _training_face(doc: dict[str, Any]) -> tuple[str, TrainingFace]:
    """A sample's record name and its face with landmarks back in source pixels."""
    source = doc["source"]
    record = str(source.get("record") or (source["image"], source["face"]))
    matrix = np.vstack([np.asarray(doc["transform"], dtype=np.float64), [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(matrix)
    pts = np.asarray(doc["landmarks"], dtype=np.float64)
    points = pts @ inverse[:2, :2].T + inverse[:2, 2]
    bbox = source.get("bbox")
    return record, TrainingFace(str(source["image"]), points, None if bbox is None else _box(bbox))


def _box(values: Sequence[float]) -> Box:
    return float(values[0]), float(values[1]), float(values[2]), float(values[3])


def _sample_docs(root: Path, shard_paths: Iterable[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``shard: key``, the sample JSON) of every sample of the shards."""
    for path in shard_paths:
        for sample in iter_samples(root / path):
            data = sample.get("json")
            if data is None:
                continue
            try:
                yield f"{root / path}: {sample.key}", parse_json(data)
            except ValueError as exc:  # a corrupt sample: the trainer skips it too
                log.warning("calibration skips %s: %s", f"{root / path}: {sample.key}", exc)


def haar_pairs(
    faces: Sequence[TrainingFace], root: Path, detector: HaarDetector, images: int | None = None
) -> tuple[list[Box], list[Box]]:
    """(detection, landmark extent) of every face the detector finds on the first ``images``
    (default ``HAAR_IMAGES``) training images under ``root``; unreadable images are logged and skipped."""
    images = HAAR_IMAGES if images is None else images
    by_image: dict[str, list[TrainingFace]] = {}
    for face in faces:
        by_image.setdefault(face.image, []).append(face)
    boxes: list[Box] = []
    extents: list[Box] = []
    for name in list(by_image)[:images]:
        try:
            pixels = imageio.read_image(root / name).pixels
        except imageio.ImageError as exc:
            log.warning("calibration: %s: skipped (%s)", root / name, exc.message)
            continue
        exts = [extent(f.points) for f in by_image[name]]
        found = detector.detect(pixels)
        for ext, d in zip(exts, match(found, exts), strict=True):
            if d is not None:
                boxes.append(found[d])
                extents.append(ext)
    return boxes, extents


def calibrate(
    faces: Sequence[TrainingFace], source_root: Path | None, detector: HaarDetector | None = None
) -> Calibration:
    """The ``annotated`` relation from the faces' boxes, and the ``haar`` one when the images
    under ``source_root`` can be read."""
    detector = detector or HaarDetector()
    relations: dict[str, BoxRelation] = {}
    boxed = [f for f in faces if f.bbox is not None]
    annotated = fit_relation([f.bbox for f in boxed if f.bbox], [extent(f.points) for f in boxed])
    if annotated is not None:
        relations[ANNOTATED] = annotated
    if source_root is not None:
        haar = fit_relation(*haar_pairs(faces, source_root, detector))
        if haar is None:
            log.warning(
                "calibration: the Haar detector found none of the training faces under %s", source_root
            )
        else:
            relations[HAAR] = haar
    log.info(
        "calibration on %d training faces: %s",
        len(faces),
        ", ".join(f"{k} ({v.faces} faces)" for k, v in relations.items()) or "no box source",
    )
    return Calibration(relations, detector.settings())
