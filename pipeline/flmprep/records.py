"""The record types every stage passes along: a parsed face, a reject, a read report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class FaceRecord:
    """One annotated face, in the package's pixel convention (0-based, pixel centres at integers).

    ``image`` is the POSIX path of the image relative to the dataset root; ``face`` is the
    0-based index of the face within its image in annotation order (ignored boxes not
    counted). ``landmarks`` is float32 [K, 2]; ``bbox`` is (x_min, y_min, x_max, y_max) with
    inclusive pixel-centre corners, or None when the format has no box. ``origin`` names the
    annotation file and line (or XML element) the record came from.
    """

    key: str
    dataset: str
    split: str
    image: str
    face: int
    scheme: str
    landmarks: np.ndarray
    bbox: tuple[float, float, float, float] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    width: int | None = None
    height: int | None = None
    origin: str = ""

    def to_json(self) -> dict[str, Any]:
        """The record as ``flmprep scan --records`` writes it."""
        return {
            "key": self.key,
            "dataset": self.dataset,
            "split": self.split,
            "image": self.image,
            "face": self.face,
            "scheme": self.scheme,
            "landmarks": [[float(x), float(y)] for x, y in self.landmarks],
            "bbox": None if self.bbox is None else [float(v) for v in self.bbox],
            "attributes": dict(self.attributes),
        }


@dataclass(frozen=True)
class Reject:
    """An input record that was not written, with a stable reason code.

    ``key`` is the record key when known, else ``origin``; ``origin`` is "file:line" or
    "file:<element>"; ``split`` is the split when known, else "".
    """

    key: str
    reason: str
    message: str
    origin: str = ""
    split: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "key": self.key,
            "reason": self.reason,
            "message": self.message,
            "origin": self.origin,
            "split": self.split,
        }


@dataclass
class ReadReport:
    """What a reader saw besides the records it yielded: rejects and named counters."""

    rejects: list[Reject] = field(default_factory=list)
    counters: Counter[str] = field(default_factory=Counter)

    def reject(self, reject: Reject) -> None:
        self.rejects.append(reject)
