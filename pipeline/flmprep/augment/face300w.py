"""``300w`` (shapenet): crop to the face box (the annotated box, else the landmark extent),
greyscale, 224×224."""

from __future__ import annotations

from collections.abc import Sequence

from flmprep.augment.base import Face, Recipe
from flmprep.augment.crops import square_draw, square_view
from flmprep.augment.params import Box, ViewParams
from flmprep.records import FaceRecord


def face_square(
    record: FaceRecord, points_extent: Box, box_scale: float
) -> tuple[tuple[float, float], float]:
    """Centre and side of the square over the face box (inclusive pixel centres → edges)."""
    if record.bbox is not None:
        x0, y0, x1, y1 = record.bbox
        x0, y0, x1, y1 = x0 - 0.5, y0 - 0.5, x1 + 0.5, y1 + 0.5
    else:
        x0, y0, x1, y1 = points_extent
    side = max(box_scale * max(x1 - x0, y1 - y0), 2.0)
    return ((x0 + x1) / 2, (y0 + y1) / 2), side


class Face300wRecipe(Recipe):
    """The face box as a square crop; jitter only when overridden."""

    def plan(self, face: Face, u: Sequence[float] | None) -> ViewParams:
        center, side = face_square(face.record, face.extent, self.config.box_scale)
        draw = square_draw(self.config, u)
        return square_view(
            face.points, face.extent, center, side, draw, self.config.out_size, keep_inside=False
        )
