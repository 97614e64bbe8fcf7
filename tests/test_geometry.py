"""Affine algebra properties, and warp_image keeping pixels in step with apply_points."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flmprep import geometry as g

FINITE = st.floats(-500, 500, allow_nan=False)
ANGLE = st.floats(-180, 180, allow_nan=False)
SCALE = st.floats(0.05, 8.0, allow_nan=False)
POINT = st.tuples(FINITE, FINITE)
Point = tuple[float, float]


@st.composite
def matrices(draw: st.DrawFn) -> np.ndarray:
    """A random composition of the builders: translate, rotate, scale, flip, crop box."""
    steps = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["translate", "rotate", "scale", "flip", "box"]))
        if kind == "translate":
            steps.append(g.translate(draw(FINITE), draw(FINITE)))
        elif kind == "rotate":
            steps.append(g.rotate(draw(ANGLE), draw(POINT)))
        elif kind == "scale":
            steps.append(g.scale(draw(SCALE), draw(SCALE), draw(POINT)))
        elif kind == "flip":
            steps.append(g.hflip(draw(st.integers(1, 2000))))
        else:
            left, top = draw(POINT)
            w, h = draw(st.floats(4, 800)), draw(st.floats(4, 800))
            steps.append(g.box_to_output((left, top, left + w, top + h), 96, 128))
    return g.compose(*steps)


def reference_apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Independent reference: homogeneous coordinates, one point at a time, plain Python."""
    out = []
    for x, y in pts.tolist():
        col = [x, y, 1.0]
        hom = [sum(m[r][c] * col[c] for c in range(3)) for r in range(3)]
        out.append([hom[0] / hom[2], hom[1] / hom[2]])
    return np.array(out)


def reference_rotate(angle: float, cx: float, cy: float, x: float, y: float) -> tuple[float, float]:
    """Screen rotation (y down) written out: counter-clockwise on screen for positive angles."""
    a = math.radians(angle)
    dx, dy = x - cx, y - cy
    return cx + dx * math.cos(a) + dy * math.sin(a), cy - dx * math.sin(a) + dy * math.cos(a)


@settings(max_examples=60, deadline=None)
@given(matrices())
def test_matrix_times_inverse_is_identity(m: np.ndarray) -> None:
    np.testing.assert_allclose(m @ g.invert(m), np.eye(3), atol=1e-8)
    np.testing.assert_allclose(g.invert(m) @ m, np.eye(3), atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(matrices(), matrices(), matrices())
def test_compose_is_associative(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
    left = g.compose(g.compose(a, b), c)
    right = g.compose(a, g.compose(b, c))
    np.testing.assert_allclose(left, right, rtol=1e-9, atol=1e-6 * max(1.0, np.abs(left).max()))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5000), st.lists(POINT, min_size=1, max_size=8))
def test_flip_twice_is_identity_and_mirrors_pixel_centres(width: int, pts: list[tuple[float, float]]) -> None:
    f = g.hflip(width)
    np.testing.assert_array_equal(g.compose(f, f), np.eye(3))
    p = np.array(pts)
    np.testing.assert_allclose(g.apply_points(f, p)[:, 0], width - 1 - p[:, 0])
    assert g.apply_points(f, np.array([[0.0, 0.0]]))[0, 0] == width - 1


@settings(max_examples=60, deadline=None)
@given(matrices(), st.lists(POINT, min_size=1, max_size=10))
def test_apply_points_matches_reference(m: np.ndarray, pts: list[tuple[float, float]]) -> None:
    p = np.array(pts, dtype=np.float64)
    np.testing.assert_allclose(g.apply_points(m, p), reference_apply(m, p), rtol=1e-9, atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(ANGLE, POINT, POINT)
def test_rotate_matches_formula_and_opencv(angle: float, c: Point, p: Point) -> None:
    got = g.apply_points(g.rotate(angle, c), np.array([p]))[0]
    np.testing.assert_allclose(got, reference_rotate(angle, *c, *p), atol=1e-7)
    cv = cv2.getRotationMatrix2D(c, angle, 1.0)
    # OpenCV's own matrix carries ~3e-7 relative error (it rounds cos/sin); ours is the reference.
    np.testing.assert_allclose(g.to_2x3(g.rotate(angle, c)), cv, atol=1e-6 * (1 + max(map(abs, c))))


def test_box_to_output_maps_box_edges_to_output_edges() -> None:
    m = g.box_to_output((10.0, 20.0, 110.0, 70.0), 50, 25)
    edges = g.apply_points(m, np.array([[10.0, 20.0], [110.0, 70.0]]))
    np.testing.assert_allclose(edges, [[-0.5, -0.5], [49.5, 24.5]])
    whole = g.box_to_output((-0.5, -0.5, 639.5, 479.5), 640, 480)
    np.testing.assert_allclose(whole, np.eye(3), atol=1e-12)


def test_box_to_output_rejects_empty_box() -> None:
    with pytest.raises(ValueError, match="positive size"):
        g.box_to_output((5.0, 5.0, 5.0, 9.0), 10, 10)


def test_area_shrink_matches_pixel_centre_convention() -> None:
    # Pixels 0..3 averaged by 4 become output pixel 0, whose centre is their mean centre 1.5.
    np.testing.assert_allclose(g.apply_points(g.area_shrink(4), np.array([[1.5, 5.5]])), [[0.0, 1.0]])


# --- warp_image --------------------------------------------------------------------------------


def blob(h: int, w: int, cx: float, cy: float, sigma: float) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    return np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma * sigma)).astype(np.float32)


def centroid(img: np.ndarray) -> np.ndarray:
    y, x = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    total = img.sum()
    return np.array([(x * img).sum() / total, (y * img).sum() / total])


@st.composite
def view_matrices(draw: st.DrawFn, min_scale: float, max_scale: float) -> tuple[np.ndarray, float, float]:
    """A recipe-like view around a blob at a sub-pixel (cx, cy) of a 400×300 source: rotate,
    scale, optional flip, centred in a 64×64 output with a sub-pixel shift."""
    cx, cy = draw(st.floats(150, 250)), draw(st.floats(110, 190))
    s = draw(st.floats(min_scale, max_scale))
    shift = draw(st.tuples(st.floats(-6, 6), st.floats(-6, 6)))
    m = g.compose(g.rotate(draw(ANGLE), (cx, cy)), g.scale(s, center=(cx, cy)))
    m = g.compose(m, g.translate(32 - cx + shift[0], 32 - cy + shift[1]))
    if draw(st.booleans()):
        m = g.compose(m, g.hflip(64))
    return m, cx, cy


def centroid_error(m: np.ndarray, cx: float, cy: float) -> float:
    """Blob of σ = 2 output pixels drawn at (cx, cy) (its 4σ stays inside the source); distance
    of the warped centroid from where apply_points puts (cx, cy)."""
    src = blob(300, 400, cx, cy, 2.0 / g.scale_factor(m))
    out = g.warp_image(src, m, (64, 64))
    return float(np.abs(centroid(out) - g.apply_points(m, np.array([[cx, cy]]))[0]).max())


@settings(max_examples=30, deadline=None)
@given(view_matrices(0.5, 3.0))
def test_warp_moves_blob_where_apply_points_says(view: tuple[np.ndarray, float, float]) -> None:
    m, cx, cy = view
    assert g.shrink_factor(m) == 1
    assert centroid_error(m, cx, cy) < 0.05


@settings(max_examples=30, deadline=None)
@given(view_matrices(0.08, 0.45))
def test_warp_with_preshrink_moves_blob_as_apply_points_says(view: tuple[np.ndarray, float, float]) -> None:
    m, cx, cy = view
    assert g.shrink_factor(m) >= 2
    # Measured max 0.022 px over 200 random views (pre-shrink 2, 4 and 8); 0.016 px without.
    assert centroid_error(m, cx, cy) < 0.05


def test_shrink_factor() -> None:
    assert g.shrink_factor(g.scale(0.6)) == 1
    assert g.shrink_factor(g.scale(0.5)) == 1
    assert g.shrink_factor(g.scale(0.45)) == 2
    assert g.shrink_factor(g.scale(0.3)) == 2
    assert g.shrink_factor(g.scale(0.25)) == 4
    assert g.shrink_factor(g.rotate(30, (5, 5)) @ g.scale(0.1)) == 8
    assert g.shrink_factor(g.scale(0.3, 0.6)) == 1  # one direction keeps most of its resolution
    assert g.shrink_factor(g.scale(0.1), "nearest") == 1


def test_preshrink_reads_only_the_crop() -> None:
    """A 96 px view from a 1024×768 image: pixels far outside its pre-image never enter."""
    img = np.full((768, 1024), np.nan, dtype=np.float32)
    m = g.box_to_output((300.0, 200.0, 700.0, 600.0), 96, 96)
    x0, y0, x1, y1 = g.output_preimage(m, 96, 96)
    f = g.shrink_factor(m)
    pad = 3 * f
    img[math.floor(y0) - pad : math.ceil(y1) + pad, math.floor(x0) - pad : math.ceil(x1) + pad] = 0.25
    out = g.warp_image(img, m, (96, 96))
    assert f == 4  # scale 0.24
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, 0.25, atol=1e-6)


def test_preshrink_equals_area_resize() -> None:
    rng = np.random.default_rng(7)
    img = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    out = g.warp_image(img, g.area_shrink(2), (80, 60))  # no pre-shrink at 0.5: bilinear = 2×2 mean
    ref = cv2.resize(img, (80, 60), interpolation=cv2.INTER_AREA)
    assert np.abs(out.astype(int) - ref).max() <= 1
    out = g.warp_image(img, g.area_shrink(4), (40, 30))  # two halvings: uint8 rounding in between
    ref = cv2.resize(img, (40, 30), interpolation=cv2.INTER_AREA)
    assert np.abs(out.astype(int) - ref).max() <= 1
    flt = img.astype(np.float32)
    ref_f = cv2.resize(flt, (40, 30), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(g.warp_image(flt, g.area_shrink(4), (40, 30)), ref_f, atol=1e-4)


def test_warp_identity_flip_and_integer_shift_are_exact() -> None:
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    np.testing.assert_array_equal(g.warp_image(img, g.identity(), (70, 50)), img)
    np.testing.assert_array_equal(g.warp_image(img, g.hflip(70), (70, 50)), img[:, ::-1])
    shifted = g.warp_image(img, g.translate(-5, -3), (60, 40), interpolation="cubic")
    np.testing.assert_array_equal(shifted, img[3:43, 5:65])


@pytest.mark.parametrize("shape", [(40, 50), (40, 50, 1), (40, 50, 3), (40, 50, 4)])
@pytest.mark.parametrize("s", [1.0, 0.2])
def test_warp_keeps_channels_dtype_and_border(shape: tuple[int, ...], s: float) -> None:
    img = np.full(shape, 200, dtype=np.uint8)
    m = g.compose(g.scale(s), g.translate(10, 5))
    out = g.warp_image(img, m, (80, 60), border_value=7)
    assert out.shape == (60, 80, *shape[2:]) and out.dtype == np.uint8
    assert (out[0, 0] == 7).all() and (out[-1, -1] == 7).all()
    inner = g.apply_points(m, np.array([[25.0, 20.0]]))[0].round().astype(int)
    assert (out[inner[1], inner[0]] == 200).all()


def test_warp_rejects_bad_arguments() -> None:
    img = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(ValueError, match="interpolation"):
        g.warp_image(img, g.identity(), (10, 10), interpolation="bicubic")
    with pytest.raises(ValueError, match="output size"):
        g.warp_image(img, g.identity(), (0, 10))
    with pytest.raises(ValueError, match="found shape"):
        g.warp_image(np.zeros((10, 10, 2), np.uint8), g.identity(), (10, 10))


def test_preshrink_views_leaving_the_image() -> None:
    """Views partly or wholly outside the source: border outside, no allocation beyond the image."""
    img = np.full((100, 120, 3), 90, dtype=np.uint8)
    far = g.compose(g.translate(-5000, -5000), g.scale(0.1))
    assert g.shrink_factor(far) == 8
    np.testing.assert_array_equal(g.warp_image(img, far, (32, 32), border_value=3), 3)
    half = g.compose(g.translate(-60, 0), g.scale(0.2))  # the left part of the output sees the image
    out = g.warp_image(img, half, (24, 20), border_value=3)
    assert (out[2:18, 1:10] == 90).all() and (out[:, 14:] == 3).all()


def test_warp_rejects_degenerate_matrices() -> None:
    img = np.zeros((10, 10), np.uint8)
    with pytest.raises(ValueError, match="invertible"):
        g.warp_image(img, np.diag([0.1, 0.0, 1.0]), (10, 10))
    with pytest.raises(ValueError, match="finite"):
        g.warp_image(img, np.diag([np.nan, 1.0, 1.0]), (10, 10))
