"""Landmark schemes: point count, names, flip permutation, NME normaliser, groups.

The definitions are data (``flmprep.schemas/schemes/*.json``), loaded once and cached.
"Left" and "right" always mean image-left and image-right.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from flmprep.errors import FlipUnsupportedError

SCHEME_NAMES = ("celeba5", "ibug68", "wflw98", "helen194")


@dataclass(frozen=True)
class NmeNormaliser:
    """How to compute the NME denominator from ground-truth landmarks.

    ``kind`` is "points" (distance between points ``a`` and ``b``) or "box"
    (sqrt(w*h) of the ground-truth landmark extent).
    """

    kind: str
    label: str
    a: int = -1
    b: int = -1

    def __call__(self, gt: np.ndarray) -> float:
        """The normalising distance for one face's ground truth [K, 2]."""
        if self.kind == "points":
            return float(np.linalg.norm(gt[self.a] - gt[self.b]))
        span = gt.max(axis=0) - gt.min(axis=0)
        return float(np.sqrt(span[0] * span[1]))


@dataclass(frozen=True)
class Scheme:
    """A landmark scheme. ``flip_permutation[i]`` is the source index of flipped point i."""

    name: str
    num_points: int
    description: str
    names: tuple[str, ...]
    flip_permutation: tuple[int, ...] | None
    nme: NmeNormaliser
    groups: dict[str, tuple[int, ...]]
    left: tuple[int, ...]
    right: tuple[int, ...]

    @property
    def can_flip(self) -> bool:
        return self.flip_permutation is not None

    def flip_indices(self) -> np.ndarray:
        """The flip permutation as an index array; raises when the scheme has none."""
        if self.flip_permutation is None:
            raise FlipUnsupportedError(
                f"scheme {self.name!r} has no known flip permutation, so a horizontal flip would "
                "swap landmark identities; use a recipe without flips (e.g. --flip-prob 0)"
            )
        return np.asarray(self.flip_permutation, dtype=np.intp)


def _load(name: str) -> Scheme:
    text = resources.files("flmprep.schemas").joinpath("schemes", f"{name}.json").read_text("utf-8")
    doc = json.loads(text)
    nme = doc["nme_normaliser"]
    perm = doc["flip_permutation"]
    return Scheme(
        name=doc["name"],
        num_points=int(doc["num_points"]),
        description=doc["description"],
        names=tuple(doc["names"]),
        flip_permutation=None if perm is None else tuple(int(i) for i in perm),
        nme=NmeNormaliser(kind=nme["kind"], label=nme["label"], a=nme.get("a", -1), b=nme.get("b", -1)),
        groups={g: tuple(idx) for g, idx in doc["groups"].items()},
        left=tuple(doc["sides"]["left"]),
        right=tuple(doc["sides"]["right"]),
    )


@cache
def get_scheme(name: str) -> Scheme:
    """The scheme called ``name``; raises KeyError naming the known schemes."""
    if name not in SCHEME_NAMES:
        raise KeyError(f"unknown landmark scheme {name!r}; expected one of {', '.join(SCHEME_NAMES)}")
    return _load(name)


def scheme_for_points(num_points: int) -> Scheme:
    """The scheme with ``num_points`` points (used by formats whose files carry only a count)."""
    for name in SCHEME_NAMES:
        scheme = get_scheme(name)
        if scheme.num_points == num_points:
            return scheme
    raise KeyError(f"no landmark scheme has {num_points} points; known: 5, 68, 98, 194")
