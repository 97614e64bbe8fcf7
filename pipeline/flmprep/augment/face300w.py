"""``300w`` (shapenet): crop to the face box (the annotated box, else the landmark extent),
greyscale, 224×224."""

from __future__ import annotations

from collections.abc import Sequence

from flmprep.augment.base import Face, Recipe
from flmprep.augment.crops import square_about, square_draw, square_view
from flmprep.augment.params import Box, ViewParams
from flmprep.records import FaceRecord


def face_box(record: FaceRecord, points_extent: Box) -> Box:
    """The annotated face box as pixel edges (inclusive centres ± 0.5), else the landmark extent."""
    if record.bbox is None:
        return points_extent
    x0, y0, x1, y1 = record.bbox
    return x0 - 0.5, y0 - 0.5, x1 + 0.5, y1 + 0.5


class Face300wRecipe(Recipe):
    """The face box as a square crop; jitter only when overridden."""

    def plan(self, face: Face, u: Sequence[float] | None) -> ViewParams:
        center, side = square_about(face_box(face.record, face.extent), self.config.box_scale)
        draw = square_draw(self.config, u)
        return square_view(
            face.points, face.extent, center, side, draw, self.config.out_size, keep_inside=False
        )
