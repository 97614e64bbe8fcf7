"""Face boxes from OpenCV's Haar cascade (shipped in ``cv2.data``, nothing downloaded), and the
matching of detections to annotated faces used by calibration and evaluation.

Boxes are ``(left, top, right, bottom)`` with inclusive pixel-centre corners, like
``FaceRecord.bbox``: a detection at x, y of size w × h is ``(x, y, x + w - 1, y + h - 1)``.
The cascade finds roughly frontal, upright faces; profiles, strong rotations and small faces
are missed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from flmprep.inference.errors import InferenceError

Box = tuple[float, float, float, float]
CASCADE = "haarcascade_frontalface_default.xml"


@cache
def _cascade(name: str) -> cv2.CascadeClassifier:
    path = Path(cv2.data.haarcascades) / name  # type: ignore[attr-defined]
    classifier = cv2.CascadeClassifier(str(path))
    if classifier.empty():
        raise InferenceError(f"{path}: expected an OpenCV Haar cascade, found none that loads")
    return classifier


def grey(pixels: np.ndarray) -> np.ndarray:
    """H×W uint8 luma of an H×W, H×W×1, H×W×3 (RGB) or H×W×4 (RGBX) image."""
    if pixels.ndim == 2:
        return pixels
    if pixels.shape[2] == 1:
        return np.ascontiguousarray(pixels[:, :, 0])
    code = cv2.COLOR_RGBA2GRAY if pixels.shape[2] == 4 else cv2.COLOR_RGB2GRAY
    return cv2.cvtColor(pixels, code)


@dataclass(frozen=True)
class HaarDetector:
    """``cv2.CascadeClassifier.detectMultiScale`` on the histogram-equalised luma."""

    min_face: int = 32
    scale_factor: float = 1.1
    min_neighbors: int = 5
    cascade: str = CASCADE

    def __post_init__(self) -> None:
        if self.min_face < 1 or self.scale_factor <= 1.0 or self.min_neighbors < 0:
            raise InferenceError(
                "detector: expected min_face >= 1, scale_factor > 1, min_neighbors >= 0, found "
                f"{self.min_face}, {self.scale_factor}, {self.min_neighbors}"
            )

    def detect(self, pixels: np.ndarray) -> list[Box]:
        """Face boxes, largest first."""
        luma = cv2.equalizeHist(grey(pixels))
        found = _cascade(self.cascade).detectMultiScale(
            luma,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_face, self.min_face),
        )
        boxes = [(float(x), float(y), float(x + w - 1), float(y + h - 1)) for x, y, w, h in found]
        return sorted(boxes, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))

    def settings(self) -> dict[str, Any]:
        """What changes the boxes' geometry (``min_face`` only drops small faces)."""
        doc = asdict(self)
        del doc["min_face"]
        return doc


def centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def match(detections: Sequence[Box], extents: Sequence[Box]) -> list[int | None]:
    """For each face (its landmark extent), the detection whose box holds the extent's centre and
    whose centre is nearest to it; each detection serves one face, nearest pairs first."""
    pairs = []
    for f, ext in enumerate(extents):
        cx, cy = centre(ext)
        for d, box in enumerate(detections):
            if box[0] <= cx <= box[2] and box[1] <= cy <= box[3]:
                bx, by = centre(box)
                pairs.append((float(np.hypot(bx - cx, by - cy)), f, d))
    chosen: list[int | None] = [None] * len(extents)
    used: set[int] = set()
    for _, f, d in sorted(pairs):
        if chosen[f] is None and d not in used:
            chosen[f] = d
            used.add(d)
    return chosen
