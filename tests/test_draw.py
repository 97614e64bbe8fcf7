"""flmprep.draw: sub-pixel point placement, side colours, overlays and contact-sheet layout."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flmprep import draw
from flmprep.schemes import get_scheme

CELEBA5 = get_scheme("celeba5")  # image-left (0, 3), image-right (1, 4), centre 2


def _one_point(x: float, y: float) -> np.ndarray:
    """celeba5 landmarks with only point 2 finite (the others are skipped when drawn)."""
    pts = np.full((5, 2), np.nan)
    pts[2] = (x, y)
    return pts


@settings(max_examples=40, deadline=None)
@given(st.floats(10, 53), st.floats(10, 53))
def test_a_drawn_point_is_centred_on_its_sub_pixel_coordinate(x: float, y: float) -> None:
    out = draw.draw_landmarks(np.zeros((64, 64), np.uint8), _one_point(x, y), [True] * 5, CELEBA5, radius=4)
    weight = out[:, :, 1].astype(np.float64)  # the centre colour is mostly green
    rows, cols = np.mgrid[0:64, 0:64]
    cx, cy = (weight * cols).sum() / weight.sum(), (weight * rows).sum() / weight.sum()
    assert abs(cx - x) < 0.1 and abs(cy - y) < 0.1


def test_left_right_and_centre_points_get_their_colours() -> None:
    pts = np.array([[10, 10], [50, 10], [30, 30], [10, 50], [50, 50]], float)
    out = draw.draw_landmarks(np.zeros((61, 61, 3), np.uint8), pts, [True] * 5, CELEBA5, radius=3)
    colour_at = [tuple(int(c) for c in out[int(y), int(x)]) for x, y in pts]
    assert colour_at == [
        draw.LEFT_COLOUR,
        draw.RIGHT_COLOUR,
        draw.CENTRE_COLOUR,
        draw.LEFT_COLOUR,
        draw.RIGHT_COLOUR,
    ]


def test_invisible_points_are_hollow_and_input_is_untouched() -> None:
    image = np.full((40, 40), 7, np.uint8)
    out = draw.draw_landmarks(image, _one_point(20, 20), [False] * 5, CELEBA5, radius=6)
    assert out.shape == (40, 40, 3) and out[20, 20].tolist() == [7, 7, 7]
    assert out[20, 26].tolist() != [7, 7, 7]  # the ring
    assert (image == 7).all()


def test_labels_add_index_text() -> None:
    pts = _one_point(10, 30)
    plain = draw.draw_landmarks(np.zeros((40, 60), np.uint8), pts, [True] * 5, CELEBA5, radius=2)
    labelled = draw.draw_landmarks(
        np.zeros((40, 60), np.uint8), pts, [True] * 5, CELEBA5, radius=2, labels=True
    )
    assert (labelled[:, 14:] != plain[:, 14:]).any()


def test_wrong_point_count_names_expected_and_found() -> None:
    with pytest.raises(ValueError, match=r"expected 5 landmarks.*found 4 and 5"):
        draw.draw_landmarks(np.zeros((8, 8), np.uint8), np.zeros((4, 2)), [True] * 5, CELEBA5)


def test_overlay_peaks_where_the_heatmap_peaks() -> None:
    maps = np.zeros((2, 16, 16), np.float32)
    maps[1, 4, 12] = 1.0  # heatmap pixel (x=12, y=4) -> image pixel centre (x=12*4+1.5, y=4*4+1.5)
    out = draw.overlay_heatmaps(np.zeros((64, 64), np.uint8), maps)
    rows, cols = np.nonzero(out.any(axis=2))
    assert abs(cols.mean() - 49.5) < 0.01 and abs(rows.mean() - 17.5) < 0.01
    assert out[60, 5].tolist() == [0, 0, 0]


def test_contact_sheet_places_tiles_row_major_with_captions() -> None:
    tiles = [np.full((20, 30, 3), v, np.uint8) for v in (50, 100, 150)]
    sheet = draw.contact_sheet(tiles, cols=2, captions=["a", "b", "c"])
    cell_w, cell_h = 30 + draw.GAP, 20 + 14 + draw.GAP
    assert sheet.shape == (2 * cell_h + draw.GAP, 2 * cell_w + draw.GAP, 3)
    assert sheet[draw.GAP + 5, draw.GAP + cell_w + 5].tolist() == [100] * 3
    assert sheet[draw.GAP + cell_h + 5, draw.GAP + 5].tolist() == [150] * 3
    assert sheet[draw.GAP + cell_h + 5, draw.GAP + cell_w + 5].tolist() == list(draw.BACKGROUND)


def test_contact_sheet_fits_tiles_to_tile_size() -> None:
    sheet = draw.contact_sheet([np.zeros((100, 50), np.uint8)], tile_size=40)
    assert sheet.shape == (40 + 2 * draw.GAP, 40 + 2 * draw.GAP, 3)
    with pytest.raises(ValueError, match="expected 1 captions, found 2"):
        draw.contact_sheet([np.zeros((4, 4), np.uint8)], captions=["a", "b"])
