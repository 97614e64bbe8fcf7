"""Square crops about the landmark box, jittered in scale, position and angle (``box_scale``
× the extent's larger side), used by two recipes:

- ``celeba`` (xlandmark): random crops about 2× the landmark box, every landmark kept inside;
  96×96, 20 crops per training image.
- ``wflw`` (ResNet-18 on WFLW): the extent ×1.25 as the face box, with rotation, scale and shift
  jitter and a horizontal flip that permutes the points; points may leave the output (their
  ``visible`` is then false); 256×256.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flmprep.augment.base import Face, Recipe
from flmprep.augment.crops import square_about, square_draw, square_view
from flmprep.augment.params import ViewParams


@dataclass(frozen=True)
class LandmarkBoxRecipe(Recipe):
    """Jittered squares about the landmark box; with ``keep_inside`` the crop is moved (and
    grown when needed) so that it holds every landmark."""

    keep_inside: bool = False

    def plan(self, face: Face, u: Sequence[float] | None) -> ViewParams:
        center, side = square_about(face.extent, self.config.box_scale)
        draw = square_draw(self.config, u)
        return square_view(
            face.points, face.extent, center, side, draw, self.config.out_size, keep_inside=self.keep_inside
        )
