"""``helen`` (RCCNN): rotate by a random angle (±15°) about the keypoint centre, take the
keypoint box in the rotated frame, extend its height ×1.4 towards the forehead (−y there),
draw a crop size uniformly between that box and the box of 2.0× its area (each side limited by
the image's), draw the corner uniformly among those keeping every keypoint inside and the crop
inside the image, resize to 256×256. Only a view whose rotated keypoints cannot all fit inside
the image raises ``image_too_small``."""

from __future__ import annotations

import math
from collections.abc import Sequence

from flmprep.augment.base import Face, Recipe
from flmprep.augment.crops import clamp, extent, lerp, rotate_points, signed
from flmprep.augment.errors import AugmentError
from flmprep.augment.params import ViewParams


def _corner_range(lo_pt: float, hi_pt: float, length: float, limit: int) -> tuple[float, float]:
    """Corners c with c <= lo_pt, c + length >= hi_pt and the crop inside [-0.5, limit - 0.5]."""
    return max(-0.5, hi_pt - length), min(limit - 0.5 - length, lo_pt)


class HelenRecipe(Recipe):
    """Rotate, then crop a randomly sized, randomly placed box that holds every keypoint."""

    def plan(self, face: Face, u: Sequence[float] | None) -> ViewParams:
        c = self.config
        width, height = face.size
        x0, y0, x1, y1 = face.extent
        pivot = ((x0 + x1) / 2, (y0 + y1) / 2)
        angle = c.max_angle * signed(u[0]) if u is not None and c.max_angle else 0.0
        rx0, ry0, rx1, ry1 = extent(rotate_points(face.points, angle, pivot))
        box_w, box_h = max(rx1 - rx0, 1.0), max(ry1 - ry0, 1.0) * c.forehead
        k = math.sqrt(1.0 if u is None else lerp(1.0, c.max_area, float(u[1])))
        w, h = min(box_w * k, float(width)), min(box_h * k, float(height))
        lo_x, hi_x = _corner_range(rx0, rx1, w, width)
        lo_y, hi_y = _corner_range(ry0, ry1, h, height)
        if lo_x > hi_x or lo_y > hi_y:
            raise AugmentError(
                "image_too_small",
                f"{face.record.key}: helen: expected a {w:.1f}×{h:.1f} crop inside the {width}×{height} "
                f"image holding every keypoint, found keypoints at x {rx0:.1f}..{rx1:.1f}, "
                f"y {ry0:.1f}..{ry1:.1f} after rotating by {angle:.2f}°",
            )
        if u is None:
            left = clamp((rx0 + rx1 - w) / 2, lo_x, hi_x)
            top = clamp(ry1 - (box_h + h) / 2, lo_y, hi_y)
        else:
            left, top = lerp(lo_x, hi_x, float(u[2])), lerp(lo_y, hi_y, float(u[3]))
        return ViewParams(
            angle=angle,
            pivot=pivot,
            box=(left, top, left + w, top + h),
            flip=u is not None and float(u[4]) < c.flip_prob,
            scale=k,
            out_size=(c.out_size, c.out_size),
        )
