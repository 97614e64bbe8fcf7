"""``flmprep predict`` over many inputs: the images named (files, and every image in a folder),
the boxes file, one outcome per image (faces, or why it was skipped), drawings and JSON lines."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from flmprep import draw, imageio
from flmprep.augment import AugmentError
from flmprep.inference.haar import Box
from flmprep.jsonio import parse_json
from flmprep.predict.errors import PredictError
from flmprep.predict.predictor import FaceResult, Predictor, SourceImage, as_boxes
from flmprep.schemes import Scheme

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".ppm", ".pgm", ".pnm")
SCHEMA = "flmprep.prediction/1"


@dataclass(frozen=True, eq=False)
class ImageOutcome:
    """One input image: its ``name`` as given (a folder's images: ``FOLDER/NAME``), the faces
    found, or the ``reason`` and ``message`` it was skipped for."""

    name: str
    faces: tuple[FaceResult, ...] = ()
    reason: str = ""
    message: str = ""
    pixels: np.ndarray | None = None

    @property
    def skipped(self) -> bool:
        return bool(self.reason)

    def json_lines(self) -> list[dict[str, Any]]:
        """Its lines of ``--json`` (schemas/prediction.schema.json): one per face, or one skip."""
        if self.skipped:
            return [
                {
                    "schema": SCHEMA,
                    "image": self.name,
                    "skipped": {"reason": self.reason, "message": self.message},
                }
            ]
        return [face.to_json(self.name) for face in self.faces]


def collect_images(inputs: Sequence[str]) -> list[str]:
    """The image names: each file as given, each folder's image files (by suffix, sorted)."""
    names: list[str] = []
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            names += [
                str(path / p.name)
                for p in sorted(path.iterdir())
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            ]
        elif path.is_file():
            names.append(given)
        else:
            raise PredictError(f"{given}: expected an image file or a folder, found nothing there")
    return names


def read_boxes(path: Path) -> dict[str, list[Box]]:
    """``{image as given: [[left, top, right, bottom], ...]}`` from a JSON file."""
    try:
        doc = parse_json(path.read_bytes())
    except OSError as exc:
        raise PredictError(f"{path}: expected a readable boxes file, found {exc.strerror}") from None
    except ValueError as exc:
        raise PredictError(f"{path}: expected JSON, found {exc}") from None
    if not isinstance(doc, dict):
        raise PredictError(
            f"{path}: expected an object mapping image paths to box lists, found {type(doc).__name__}"
        )
    boxes: dict[str, list[Box]] = {}
    for name, value in doc.items():
        if not isinstance(value, list) or not value or not all(_is_box(b) for b in value):
            raise PredictError(
                f"{path}: {name}: expected a list of [left, top, right, bottom] boxes, found {value!r:.60}"
            )
        try:
            boxes[name] = as_boxes(np.asarray(value, dtype=np.float64))
        except PredictError as exc:
            raise PredictError(f"{path}: {name}: {exc}") from None
    return boxes


def _is_box(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 4
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )


def predict_images(
    predictor: Predictor,
    names: Sequence[str],
    boxes: dict[str, list[Box]] | None,
    detect: bool,
    keep_pixels: bool = False,
) -> Iterator[ImageOutcome]:
    """One outcome per image: with ``boxes``, an image's own boxes (the detector's when it has
    none and ``detect``); otherwise the detector's."""
    for name in names:
        try:
            image = SourceImage.read(name)
        except imageio.ImageError as exc:
            yield ImageOutcome(name, reason=exc.reason, message=str(exc))
            continue
        given = None if boxes is None else boxes.get(name)
        if given is None and not detect:
            yield ImageOutcome(
                name, reason="no_box", message=f"{name}: expected an entry in the boxes file, found none"
            )
            continue
        try:
            faces = tuple(predictor.predict(image, given))
        except (PredictError, AugmentError) as exc:
            yield ImageOutcome(name, reason=getattr(exc, "reason", "bad_box"), message=f"{name}: {exc}")
            continue
        pixels = image.pixels if keep_pixels else None
        if not faces:
            yield ImageOutcome(
                name,
                reason="no_face",
                message=f"{name}: expected a face, the detector found none",
                pixels=pixels,
            )
            continue
        yield ImageOutcome(name, faces, pixels=pixels)


def drawing(pixels: np.ndarray, faces: Sequence[FaceResult], scheme: Scheme) -> np.ndarray:
    """The photo with each face's box (thin, light) and landmarks (``draw.draw_landmarks`` style)."""
    out = draw.as_rgb(pixels)
    thickness = max(1, round(min(out.shape[:2]) / 400))
    for face in faces:
        x0, y0, x1, y1 = (round(v) for v in face.box)
        cv2.rectangle(out, (x0, y0), (x1, y1), draw.TEXT_COLOUR, thickness, cv2.LINE_AA)
        out = draw.draw_landmarks(out, face.landmarks, np.ones(len(face.landmarks), bool), scheme)
    return out


def drawing_path(folder: Path, name: str, taken: set[Path]) -> Path:
    """``folder/<stem>.png``, numbered when two inputs share a stem."""
    stem = Path(name).stem
    path, n = folder / f"{stem}.png", 2
    while path in taken:
        path, n = folder / f"{stem}-{n}.png", n + 1
    taken.add(path)
    return path
