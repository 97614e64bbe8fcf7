"""The ``Recipe`` base class: a named preset plus the one method each recipe implements,
``plan``, which turns uniforms (or none, for the canonical view) into ``ViewParams``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from flmprep.augment.config import RecipeConfig
from flmprep.augment.crops import extent
from flmprep.augment.params import Box, ViewParams
from flmprep.records import FaceRecord

#: Uniform draws every ``plan`` receives (fixed, so that photometric draws follow at a known place).
GEOMETRY_DRAWS = 5


@dataclass(frozen=True, eq=False)
class Face:
    """What a plan reads of one record, computed once for all its views: the record, its
    checked float64 landmarks [K, 2], their extent and the image ``size`` (w, h)."""

    record: FaceRecord
    points: np.ndarray
    extent: Box
    size: tuple[int, int]

    @classmethod
    def of(cls, record: FaceRecord, points: np.ndarray, size: tuple[int, int]) -> Face:
        pts = np.asarray(points, dtype=np.float64)
        return cls(record, pts, extent(pts), size)


@dataclass(frozen=True)
class Recipe(ABC):
    """A named augmentation preset with its resolved ``config`` (``get_recipe`` makes them)."""

    name: str
    config: RecipeConfig

    def num_views(self, split: str) -> int:
        """Views per record: ``config.crops`` for the train split, one canonical view otherwise."""
        return self.config.crops if split == "train" else 1

    @abstractmethod
    def plan(self, face: Face, u: Sequence[float] | None) -> ViewParams:
        """The view geometry of ``face`` from ``GEOMETRY_DRAWS`` uniforms, or the canonical view
        when ``u`` is None."""

    def to_json(self) -> dict[str, Any]:
        """The resolved recipe, as the build manifest records it."""
        return {"name": self.name, "config": self.config.to_json()}
