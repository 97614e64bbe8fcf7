"""Gaussian heatmaps: the documented formula, tiled PNG storage, and sub-pixel point recovery."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from flmprep import imageio, targets

SIZE = (64, 48)  # (w, h): non-square, so that a swapped axis shows


def reference_maps(pts: np.ndarray, visible: np.ndarray, size: tuple[int, int], sigma: float) -> np.ndarray:
    """The docstring's formula, evaluated directly in 2-D float64."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    maps = [np.exp(-((x - px) ** 2 + (y - py) ** 2) / (2 * sigma**2)) for px, py in pts]
    return np.array(maps) * visible[:, None, None]


def points(k: int, size: tuple[int, int], margin: float) -> st.SearchStrategy[np.ndarray]:
    w, h = size
    xs = st.floats(-0.5 + margin, w - 0.5 - margin)
    ys = st.floats(-0.5 + margin, h - 0.5 - margin)
    return st.lists(st.tuples(xs, ys), min_size=k, max_size=k).map(np.array)


@settings(max_examples=30, deadline=None)
@given(points(7, SIZE, 0.0), arrays(bool, 7), st.floats(0.8, 5.0))
def test_render_matches_formula(pts: np.ndarray, visible: np.ndarray, sigma: float) -> None:
    maps = targets.render_heatmaps(pts, visible, SIZE, sigma)
    assert maps.shape == (7, 48, 64) and maps.dtype == np.float32
    np.testing.assert_allclose(maps, reference_maps(pts, visible, SIZE, sigma), atol=2e-7)
    assert not maps[~visible].any()


def test_peak_is_one_at_an_integer_point_and_nothing_is_rounded() -> None:
    maps = targets.render_heatmaps(np.array([[10.0, 20.0], [10.25, 20.0]]), np.array([True, True]))
    assert maps[0, 20, 10] == 1.0 and maps[0].argmax() == 20 * 64 + 10
    assert maps[1, 20, 10] < 1.0 and maps[1, 20, 11] < maps[1, 20, 10]  # sub-pixel, not snapped
    assert maps[1, 20, 10] == pytest.approx(np.exp(-(0.25**2) / (2 * 2.5**2)))


def test_nonfinite_points_give_zero_maps_and_bad_arguments_raise() -> None:
    maps = targets.render_heatmaps(np.array([[np.nan, 3.0], [4.0, 4.0]]), np.array([True, True]))
    assert not maps[0].any() and maps[1].max() == 1.0
    with pytest.raises(ValueError, match="expected 2 flags, found 3"):
        targets.render_heatmaps(np.zeros((2, 2)), np.ones(3, bool))
    with pytest.raises(ValueError, match="sigma"):
        targets.render_heatmaps(np.zeros((2, 2)), np.ones(2, bool), sigma=0.0)


@settings(max_examples=40, deadline=None)
@given(points(5, (256, 192), 0.0))
def test_heatmap_coords_round_trip_and_align_pixel_edges(pts: np.ndarray) -> None:
    hm = targets.to_heatmap_coords(pts, (256, 192), (64, 48))
    np.testing.assert_allclose(targets.from_heatmap_coords(hm, (256, 192), (64, 48)), pts, atol=1e-4)
    corners = np.array([[-0.5, -0.5], [255.5, 191.5], [1.5, 1.5]])
    edges = targets.to_heatmap_coords(corners, (256, 192), (64, 48))
    np.testing.assert_allclose(edges, [[-0.5, -0.5], [63.5, 47.5], [0.0, 0.0]])


@pytest.mark.parametrize(
    ("k", "grid"), [(1, (1, 1)), (5, (3, 2)), (68, (9, 8)), (98, (10, 10)), (194, (14, 14))]
)
def test_tile_grid_is_near_square(k: int, grid: tuple[int, int]) -> None:
    assert targets.tile_grid(k) == grid
    cols, rows = grid
    assert cols * rows >= k > cols * (rows - 1)


@pytest.mark.parametrize("k", [5, 68, 98])
def test_png_round_trip_is_the_uint8_quantisation(k: int) -> None:
    rng = np.random.default_rng(k)
    visible = rng.random(k) > 0.2
    maps = targets.render_heatmaps(rng.uniform(0, 47, (k, 2)), visible, SIZE)
    data = targets.encode_heatmaps_png(maps)
    assert data == targets.encode_heatmaps_png(maps.copy())
    decoded = targets.decode_heatmaps_png(data, k, SIZE)
    np.testing.assert_array_equal(decoded, np.rint(maps * 255).astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(targets.decode_heatmaps_png(data, k), decoded)
    cols, rows = targets.tile_grid(k)
    sheet = imageio.decode(data).pixels  # an ordinary PNG any viewer opens
    assert sheet.shape == (rows * 48, cols * 64, 3)
    np.testing.assert_array_equal(sheet[:48, 64 : 2 * 64, 0], targets.quantize(maps[1]))


def test_png_decode_rejects_wrong_sizes() -> None:
    data = targets.encode_heatmaps_png(np.zeros((5, 48, 64), np.float32))
    with pytest.raises(imageio.ImageError, match="expected 32×32 maps, found 64×48"):
        targets.decode_heatmaps_png(data, 5, (32, 32))
    with pytest.raises(imageio.ImageError, match="expected a sheet of 5×4 equal tiles, found 192×96"):
        targets.decode_heatmaps_png(data, 17)


@settings(max_examples=30, deadline=None)
@given(points(12, SIZE, 0.0), st.sampled_from([1.0, 1.5, 2.5, 4.0]))
def test_clean_maps_give_back_the_points(pts: np.ndarray, sigma: float) -> None:
    """Measured max error on clean float32 maps: 2.5e-6 px over 5×50×98 random points."""
    maps = targets.render_heatmaps(pts, np.ones(len(pts), bool), SIZE, sigma)
    got, conf = targets.heatmaps_to_points(maps)
    assert np.abs(got - pts).max() < 1e-4
    assert (conf > 0.7).all()  # a point half a pixel off-centre in x and y, σ = 1: exp(-1/4)


@settings(max_examples=30, deadline=None)
@given(points(12, SIZE, 0.0), points(12, SIZE, 3.0))
def test_png_maps_give_back_the_points(anywhere: np.ndarray, inside: np.ndarray) -> None:
    """After uint8 PNG quantisation, σ = 2.5: measured max error 0.0044 px (random points) to
    0.005 px (grid) for points at least 3 px inside the map; anywhere up to its outer pixel edges
    0.036 px, the worst at a corner (both coordinates within a pixel of an edge; 41×41 grid)."""
    for pts, bound in ((inside, 0.01), (anywhere, 0.05)):
        maps = targets.render_heatmaps(pts, np.ones(len(pts), bool), SIZE)
        decoded = targets.decode_heatmaps_png(targets.encode_heatmaps_png(maps), len(pts), SIZE)
        got, _ = targets.heatmaps_to_points(decoded)
        assert np.abs(got - pts).max() < bound


def test_empty_maps_give_nan_points_with_zero_confidence() -> None:
    maps = targets.render_heatmaps(np.array([[3.3, 4.4], [5.0, 6.0]]), np.array([False, True]))
    got, conf = targets.heatmaps_to_points(maps)
    assert np.isnan(got[0]).all() and conf[0] == 0.0
    np.testing.assert_allclose(got[1], [5.0, 6.0], atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(arrays(np.float32, (3, 5, 7), elements=st.floats(-2, 3, width=32)))
def test_quantize_is_rounded_clipped_255v(maps: np.ndarray) -> None:
    """round(255 · clip(v, 0, 1)) in float32 arithmetic, halves to even (np.rint)."""
    expected = np.rint(np.clip(maps, 0, 1) * np.float32(255)).astype(np.uint8)
    np.testing.assert_array_equal(targets.quantize(maps), expected)


def test_points_from_weak_or_signed_maps() -> None:
    """Model outputs: any peak height, negative values around it; all-negative maps give NaN."""
    pts = np.array([[20.3, 11.7], [40.6, 30.2]])
    maps = targets.render_heatmaps(pts, np.ones(2, bool), SIZE).astype(np.float64)
    maps = maps * np.array([1e-4, 3.0])[:, None, None] - np.array([1e-6, 0.1])[:, None, None]
    got, conf = targets.heatmaps_to_points(maps)
    np.testing.assert_allclose(got, pts, atol=0.05)
    assert conf[1] > conf[0]
    got, conf = targets.heatmaps_to_points(-np.ones((1, 8, 8)))
    assert np.isnan(got).all() and conf[0] == -1.0
