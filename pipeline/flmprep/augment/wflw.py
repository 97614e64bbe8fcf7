"""``wflw`` (ResNet-18 on WFLW): the landmark extent ×1.25 as a square face box, with rotation,
scale and shift jitter and a horizontal flip that permutes the points; 256×256."""

from __future__ import annotations

from collections.abc import Sequence

from flmprep.augment.base import Face, Recipe
from flmprep.augment.crops import landmark_square, square_draw, square_view
from flmprep.augment.params import ViewParams


class WflwRecipe(Recipe):
    """Jittered face-box crops; points may leave the output (their ``visible`` is then false)."""

    name = "wflw"

    def plan(self, face: Face, u: Sequence[float] | None) -> ViewParams:
        center, side = landmark_square(face.extent, self.config.box_scale)
        draw = square_draw(self.config, u)
        return square_view(
            face.points, face.extent, center, side, draw, self.config.out_size, keep_inside=False
        )
