"""Crop planning: the geometric promises of each recipe, for every draw of its uniforms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from flmprep import geometry
from flmprep.augment import AugmentError, get_recipe
from flmprep.augment.base import GEOMETRY_DRAWS, Face
from flmprep.augment.crops import extent, rotate_points
from flmprep.records import FaceRecord

uniforms = st.lists(st.floats(0, 1, exclude_max=True), min_size=GEOMETRY_DRAWS, max_size=GEOMETRY_DRAWS)


@st.composite
def faces(draw: st.DrawFn, k: int = 5) -> tuple[np.ndarray, tuple[int, int]]:
    """Points inside a W×H image: a face of random size and place."""
    w, h = draw(st.integers(40, 800)), draw(st.integers(40, 800))
    unit = arrays(np.float64, (k, 2), elements=st.floats(0, 1))
    pts = draw(unit) * [w - 1, h - 1]
    return pts, (w, h)


def record(points: np.ndarray, scheme: str = "celeba5") -> FaceRecord:
    return FaceRecord("t_f0", "synth", "train", "t.png", 0, scheme, points.astype(np.float32))


def out_points(params_matrix: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return geometry.apply_points(params_matrix, pts)


@settings(max_examples=300, deadline=None)
@given(faces(), uniforms)
def test_celeba_keeps_every_point_inside(face: tuple[np.ndarray, tuple[int, int]], u: list[float]) -> None:
    pts, size = face
    recipe = get_recipe("celeba", max_angle=25.0)
    p = recipe.plan(Face.of(record(pts), pts, size), u)
    moved = out_points(p.matrix(), pts)
    assert (moved >= -0.5 + 1.0 - 1e-6).all() and (moved <= 96 - 0.5 - 1.0 + 1e-6).all()
    x0, y0, x1, y1 = extent(pts)
    nominal = max(2.0 * max(x1 - x0, y1 - y0), 2.0)
    side = p.box[2] - p.box[0]
    assert side == pytest.approx(p.box[3] - p.box[1])
    assert side >= nominal * 0.9 - 1e-6  # scale jitter ±10 %; only ever grown to fit


@settings(max_examples=300, deadline=None)
@given(faces(k=12), uniforms)
def test_helen_crop_follows_the_procedure(face: tuple[np.ndarray, tuple[int, int]], u: list[float]) -> None:
    pts, (w, h) = face
    recipe = get_recipe("helen")
    try:
        p = recipe.plan(Face.of(record(pts, "helen194"), pts, (w, h)), u)
    except AugmentError as e:
        assert e.reason == "image_too_small"
        return
    assert abs(p.angle) <= 15.0
    rotated = rotate_points(pts, p.angle, p.pivot)
    x0, y0, x1, y1 = extent(rotated)
    left, top, right, bottom = p.box
    eps = 1e-6 * max(w, h)
    # every keypoint inside the crop, the crop inside the image (rotated frame)
    assert left <= x0 + eps and right >= x1 - eps and top <= y0 + eps and bottom >= y1 - eps
    assert left >= -0.5 - eps and top >= -0.5 - eps and right <= w - 0.5 + eps and bottom <= h - 0.5 + eps
    # size between the extended keypoint box and the box of 2× its area, limited by the image
    bw, bh = max(x1 - x0, 1.0), max(y1 - y0, 1.0) * 1.4
    cw, ch = right - left, bottom - top
    assert min(bw, w) - eps <= cw <= min(bw * math.sqrt(2.0), w) + eps
    assert min(bh, h) - eps <= ch <= min(bh * math.sqrt(2.0), h) + eps
    assert p.scale == pytest.approx(math.sqrt(1.0 + u[1]))
    moved = out_points(p.matrix(), pts)
    assert (moved >= -0.5 - 1e-6).all() and (moved <= 256 - 0.5 + 1e-6).all()


def test_helen_canonical_view_centres_the_forehead_box() -> None:
    pts = np.array([[100.0, 100.0], [140.0, 100.0], [120.0, 150.0]])
    p = get_recipe("helen").plan(Face.of(record(pts, "helen194"), pts, (400, 400)), None)
    assert p.angle == 0.0 and not p.flip and p.scale == 1.0
    # keypoint box 40 × 50, height × 1.4 = 70 extended upwards: top = 150 - 70
    assert p.box == pytest.approx((100.0, 80.0, 140.0, 150.0))


def test_helen_extends_up_in_the_rotated_frame() -> None:
    pts = np.array([[100.0, 100.0], [140.0, 100.0], [120.0, 150.0]])
    for corner, expected_top in ((0.0, "above"), (1.0 - 1e-12, "below")):
        u = [1.0 - 1e-12, 0.0, 0.5, corner, 0.9]
        p = get_recipe("helen").plan(Face.of(record(pts, "helen194"), pts, (400, 400)), u)
        _, y0, _, y1 = extent(rotate_points(pts, p.angle, p.pivot))
        assert p.angle == pytest.approx(15.0)
        # the crop is 1.4 × the rotated keypoint box high (area factor 1); the corner is free
        # among those holding every keypoint: from the extension all above to all below
        assert p.box[3] - p.box[1] == pytest.approx(1.4 * (y1 - y0))
        top = y1 - 1.4 * (y1 - y0) if expected_top == "above" else y0
        assert p.box[1] == pytest.approx(top, abs=1e-6)


def test_helen_limits_the_crop_to_the_image() -> None:
    pts = np.array([[10.0, 5.0], [30.0, 5.0], [20.0, 75.0]])  # 70 high: × 1.4 = 98 > 80
    p = get_recipe("helen").plan(Face.of(record(pts, "helen194"), pts, (80, 80)), None)
    assert p.box[1] == -0.5 and p.box[3] == 79.5  # the whole image height


def test_helen_refuses_a_rotation_that_cannot_hold_the_keypoints() -> None:
    pts = np.array([[-0.5, -0.5], [79.5, 79.5], [-0.5, 79.5], [79.5, -0.5]])  # the image corners
    u = [0.0, 0.0, 0.5, 0.5, 0.9]  # -15°: the rotated corners leave the image
    with pytest.raises(AugmentError, match=r"helen: expected a .* crop inside the 80×80 image holding every"):
        get_recipe("helen").plan(Face.of(record(pts, "helen194"), pts, (80, 80)), u)


@settings(max_examples=200, deadline=None)
@given(faces(), uniforms)
def test_square_recipes_centre_and_jitter(face: tuple[np.ndarray, tuple[int, int]], u: list[float]) -> None:
    pts, size = face
    recipe = get_recipe("wflw")
    p = recipe.plan(Face.of(record(pts), pts, size), u)
    x0, y0, x1, y1 = extent(pts)
    nominal = max(1.25 * max(x1 - x0, y1 - y0), 2.0)
    side = p.box[2] - p.box[0]
    assert nominal * 0.75 - 1e-9 <= side <= nominal * 1.25 + 1e-9
    cx, cy = (p.box[0] + p.box[2]) / 2, (p.box[1] + p.box[3]) / 2
    assert abs(cx - (x0 + x1) / 2) <= 0.05 * side + 1e-9 and abs(cy - (y0 + y1) / 2) <= 0.05 * side + 1e-9
    assert abs(p.angle) <= 30.0 and p.flip == (u[4] < 0.5)
    canonical = recipe.plan(Face.of(record(pts), pts, size), None)
    assert (canonical.angle, canonical.flip, canonical.scale) == (0.0, False, 1.0)
    assert canonical.box == pytest.approx(
        ((x0 + x1 - nominal) / 2, (y0 + y1 - nominal) / 2, (x0 + x1 + nominal) / 2, (y0 + y1 + nominal) / 2)
    )


@settings(max_examples=200, deadline=None)
@given(faces(), uniforms)
def test_celeba_is_wflw_that_keeps_points_inside(
    face: tuple[np.ndarray, tuple[int, int]], u: list[float]
) -> None:
    """With the same settings, the two landmark-box recipes plan the same crop unless wflw's
    would leave a point within one output pixel of the edge; celeba's then holds them all."""
    pts, size = face
    preset = {"out_size": 96, "box_scale": 1.2, "scale_jitter": 0.1, "shift_jitter": 0.2, "max_angle": 30.0,
              "flip_prob": 0.0}
    f = Face.of(record(pts), pts, size)
    loose, kept = get_recipe("wflw", **preset).plan(f, u), get_recipe("celeba", **preset).plan(f, u)
    moved = out_points(loose.matrix(), pts)
    inside = (moved >= 0.5 + 1e-6).all() and (moved <= 96 - 1.5 - 1e-6).all()
    if inside:
        assert kept == loose
    else:
        moved = out_points(kept.matrix(), pts)
        assert (moved >= 0.5 - 1e-6).all() and (moved <= 96 - 1.5 + 1e-6).all()


def test_300w_crops_to_the_face_box_edges() -> None:
    pts = np.array([[50.0, 60.0], [90.0, 60.0], [70.0, 100.0]])
    rec = FaceRecord(
        "t_f0", "synth", "test", "t.png", 0, "celeba5", pts.astype(np.float32), bbox=(40, 50, 99, 119)
    )
    p = get_recipe("300w").plan(Face.of(rec, pts, (200, 200)), None)
    # inclusive centres 40..99 × 50..119 are edges 39.5..99.5 × 49.5..119.5: 60 × 70, square side 70
    assert p.box == pytest.approx((34.5, 49.5, 104.5, 119.5))
    assert p.out_size == (224, 224)


@settings(max_examples=100, deadline=None)
@given(faces(), uniforms, st.sampled_from(["celeba", "wflw", "300w", "helen"]))
def test_plans_are_pure_functions_of_their_draws(
    face: tuple[np.ndarray, tuple[int, int]], u: list[float], name: str
) -> None:
    pts, size = face
    recipe = get_recipe(name)
    try:
        a = recipe.plan(Face.of(record(pts), pts, size), u)
    except AugmentError:
        assume(False)
        return
    assert recipe.plan(Face.of(record(pts), pts, size), list(u)) == a
