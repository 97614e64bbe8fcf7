"""Models (shapes, decoding), coordinate normalisation, and the losses' values."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from flmprep.train import losses
from flmprep.train.config import check_loss
from flmprep.train.heatmaps import render_heatmaps, to_heatmap_coords
from flmprep.train.models import (
    ModelSpec,
    Vanilla96,
    build_model,
    decode_points,
    pixels_to_unit,
    prepare_images,
    unit_to_pixels,
)


@pytest.mark.parametrize(
    ("name", "size", "out_shape"),
    [("vanilla96", 96, (2, 10)), ("resnet18", 128, (2, 10)), ("heatmap", 64, (2, 5, 16, 16))],
)
def test_models_output_shapes(name: str, size: int, out_shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    spec = ModelSpec(name, 5, size, size)
    model = build_model(spec).eval()
    images = torch.randint(0, 256, (2, size, size, 3), dtype=torch.uint8)
    with torch.no_grad():
        out = model(prepare_images(images))
    assert tuple(out.shape) == out_shape
    assert tuple(decode_points(out, spec).shape) == (2, 5, 2)


def test_vanilla96_is_the_xlandmark_stack() -> None:
    model = Vanilla96(5)
    convs = [m for m in model.features if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0]) for c in convs] == [(16, 5), (48, 3), (64, 3), (64, 2)]
    linears = [m for m in model.head if isinstance(m, torch.nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(64 * 9 * 9, 100), (100, 10)]


def test_heatmap_model_refuses_odd_sizes() -> None:
    with pytest.raises(ValueError, match="divisible by 16"):
        build_model(ModelSpec("heatmap", 5, 90, 96))


@settings(max_examples=50, deadline=None)
@given(st.floats(-10, 300), st.floats(-10, 300), st.integers(8, 256), st.integers(8, 256))
def test_unit_coordinates_invert(x: float, y: float, w: int, h: int) -> None:
    pts = torch.tensor([[x, y]], dtype=torch.float64)
    assert unit_to_pixels(pixels_to_unit(pts, w, h), w, h).tolist()[0] == pytest.approx([x, y], abs=1e-9)


def test_unit_range_is_pixel_edges() -> None:
    edges = torch.tensor([[-0.5, -0.5], [95.5, 95.5], [47.5, 47.5]])
    assert pixels_to_unit(edges, 96, 96).tolist() == [[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0]]


def test_heatmap_decoding_returns_output_pixels() -> None:
    spec = ModelSpec("heatmap", 2, 64, 64, sigma=1.5)
    truth = torch.tensor([[[20.3, 33.9], [41.0, 22.6]]])
    hm = to_heatmap_coords(truth, (64, 64), (16, 16))
    maps = render_heatmaps(hm, torch.ones(1, 2, dtype=torch.bool), (16, 16), 1.5)
    got = decode_points(maps, spec)[0].tolist()
    assert got == [pytest.approx(p, abs=0.02) for p in truth[0].tolist()]


def test_loss_values_by_hand() -> None:
    target = torch.zeros(1, 2, 2)
    pred = torch.tensor([[[3.0, 4.0], [0.0, 0.0]]])
    # mse in [-1, 1] units of a 96 px image: errors 3/48 and 4/48 over 4 coordinates.
    assert losses.mse(pred, target, (96, 96)).item() == pytest.approx(((3 / 48) ** 2 + (4 / 48) ** 2) / 4)
    assert losses.log1p_l2(pred, target, (96, 96)).item() == pytest.approx(math.log(6.0))
    w, eps = 10.0, 2.0
    expected = (w * math.log1p(3 / eps) + w * math.log1p(4 / eps)) / 4
    assert losses.wing(pred, target, (96, 96)).item() == pytest.approx(expected, rel=1e-6)


def test_wing_is_continuous_at_w() -> None:
    t = torch.zeros(1, 1, 2)
    below = losses.wing(torch.tensor([[[9.9999, 0.0]]]), t, (1, 1)).item()
    above = losses.wing(torch.tensor([[[10.0001, 0.0]]]), t, (1, 1)).item()
    assert below == pytest.approx(above, abs=1e-3)


def test_loss_model_pairing() -> None:
    assert check_loss("vanilla96", "") == "mse"
    assert check_loss("resnet18", "") == "log1p_l2"
    assert check_loss("heatmap", "") == "heatmap"
    with pytest.raises(ValueError, match="heatmap model only"):
        check_loss("vanilla96", "heatmap")
