"""``celeba`` (xlandmark): random square crops about ~2× the landmark box, jittered in scale and
position, every landmark kept inside; 96×96, 20 crops per training image."""

from __future__ import annotations

from collections.abc import Sequence

from flmprep.augment.base import Face, Recipe
from flmprep.augment.crops import landmark_square, square_draw, square_view
from flmprep.augment.params import ViewParams


class CelebaRecipe(Recipe):
    """Random crops that always contain all landmarks (``keep_inside``)."""

    name = "celeba"

    def plan(self, face: Face, u: Sequence[float] | None) -> ViewParams:
        center, side = landmark_square(face.extent, self.config.box_scale)
        draw = square_draw(self.config, u)
        return square_view(
            face.points, face.extent, center, side, draw, self.config.out_size, keep_inside=True
        )
