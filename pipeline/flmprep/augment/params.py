"""Sampled view parameters as frozen values with an exact JSON round trip.

Floats are stored as float64 and written by ``json`` as their shortest repr, which parses back
to the identical float, so replaying the parameters read from a sample's JSON gives the same
matrix, hence the same pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

Box = tuple[float, float, float, float]


def _floats(value: Any, n: int, where: str) -> tuple[float, ...]:
    if not isinstance(value, list | tuple) or len(value) != n:
        raise ValueError(f"{where}: expected a list of {n} numbers, found {value!r}")
    return tuple(_float(v, where) for v in value)


def _float(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where}: expected a finite number, found {value!r}")
    return float(value)


def _field(doc: dict[str, Any], name: str, where: str) -> Any:
    if name not in doc:
        raise ValueError(f"{where}: expected key {name!r}, found keys {sorted(doc)}")
    return doc[name]


@dataclass(frozen=True)
class ViewParams:
    """The geometry of one view: rotate by ``angle`` degrees about ``pivot`` (source pixels,
    positive = counter-clockwise on screen), crop ``box`` (pixel edges in the rotated frame),
    resize it onto ``out_size`` = (w, h), then mirror when ``flip``. ``scale`` is the sampled
    size factor relative to the recipe's nominal box (information only)."""

    angle: float
    pivot: tuple[float, float]
    box: Box
    flip: bool
    scale: float
    out_size: tuple[int, int]

    def matrix(self) -> np.ndarray:
        """The 3×3 source → output matrix (rotation, crop, resize, flip in one)."""
        a = math.radians(self.angle)
        c, s = math.cos(a), math.sin(a)
        px, py = self.pivot
        left, top, right, bottom = self.box
        out_w, out_h = self.out_size
        sx, sy = out_w / (right - left), out_h / (bottom - top)
        # rotation about the pivot, then (x - left) * sx - 0.5, then optionally x -> out_w - 1 - x
        tx = px - c * px - s * py
        ty = py + s * px - c * py
        row0 = [sx * c, sx * s, sx * (tx - left) - 0.5]
        row1 = [-sy * s, sy * c, sy * (ty - top) - 0.5]
        if self.flip:
            row0 = [-row0[0], -row0[1], out_w - 1.0 - row0[2]]
        return np.array([row0, row1, [0.0, 0.0, 1.0]], dtype=np.float64)

    def max_stretch(self) -> float:
        """The largest singular value of the matrix's linear part (rotation is orthogonal, so
        it is the larger of the two box-to-output scales)."""
        left, top, right, bottom = self.box
        return max(self.out_size[0] / (right - left), self.out_size[1] / (bottom - top))

    def to_json(self) -> dict[str, Any]:
        return {
            "angle": float(self.angle),
            "pivot": [float(v) for v in self.pivot],
            "box": [float(v) for v in self.box],
            "flip": bool(self.flip),
            "scale": float(self.scale),
            "out_size": [int(v) for v in self.out_size],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ViewParams:
        """Parse ``augment.params``; errors name the key and what was expected."""
        where = "augment.params"
        flip = _field(doc, "flip", where)
        if not isinstance(flip, bool):
            raise ValueError(f"{where}.flip: expected true or false, found {flip!r}")
        size = _field(doc, "out_size", where)
        if not isinstance(size, list | tuple) or len(size) != 2 or not all(isinstance(v, int) for v in size):
            raise ValueError(f"{where}.out_size: expected [width, height] integers, found {size!r}")
        pivot = _floats(_field(doc, "pivot", where), 2, f"{where}.pivot")
        box = _floats(_field(doc, "box", where), 4, f"{where}.box")
        return cls(
            angle=_float(_field(doc, "angle", where), f"{where}.angle"),
            pivot=(pivot[0], pivot[1]),
            box=(box[0], box[1], box[2], box[3]),
            flip=flip,
            scale=_float(_field(doc, "scale", where), f"{where}.scale"),
            out_size=(int(size[0]), int(size[1])),
        )


@dataclass(frozen=True)
class PhotometricParams:
    """Sampled photometric factors (1 or 0 = unchanged): ``brightness``, ``contrast``,
    ``saturation`` and ``gamma`` are factors; ``hue`` is a rotation in turns (0.05 = 18°)."""

    brightness: float = 1.0
    contrast: float = 1.0
    gamma: float = 1.0
    saturation: float = 1.0
    hue: float = 0.0

    def to_json(self) -> dict[str, float]:
        return {
            "brightness": float(self.brightness),
            "contrast": float(self.contrast),
            "gamma": float(self.gamma),
            "saturation": float(self.saturation),
            "hue": float(self.hue),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> PhotometricParams:
        where = "augment.photometric"
        values = {name: _float(_field(doc, name, where), f"{where}.{name}") for name in _PHOTO_FIELDS}
        return cls(**values)


_PHOTO_FIELDS = ("brightness", "contrast", "gamma", "saturation", "hue")


def photometric_field(photo: PhotometricParams | None) -> dict[str, Any]:
    """The sample's ``augment.photometric`` (``flmprep.sample/2``): always an object, so the field
    has one type in every sample: ``applied`` and the five factors (identity values when no
    jitter was applied, e.g. on every non-train view)."""
    return {"applied": photo is not None, **(photo or PhotometricParams()).to_json()}


def photometric_from_field(doc: dict[str, Any] | None) -> PhotometricParams | None:
    """Parse ``augment.photometric`` of either sample format: ``null`` (``/1``, none applied), an
    object of factors (``/1``) or ``photometric_field``'s object (``/2``, ``applied`` false = none)."""
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise ValueError(f"augment.photometric: expected an object or null, found {doc!r}")
    applied = doc.get("applied", True)
    if not isinstance(applied, bool):
        raise ValueError(f"augment.photometric.applied: expected true or false, found {applied!r}")
    return PhotometricParams.from_json(doc) if applied else None
