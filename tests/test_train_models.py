"""Models: the seeds' exact layers and parameter counts, shapes, decoding, the shape layer, losses."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from flmprep.data.loader import Batch
from flmprep.train import losses
from flmprep.train.heatmaps import render_heatmaps, to_heatmap_coords
from flmprep.train.models import (
    MODELS,
    ModelSpec,
    build_model,
    check_loss,
    count_parameters,
    decode_points,
    pixels_to_unit,
    prepare_images,
    unit_to_pixels,
)
from flmprep.train.models.mobilenetv3 import mobilenetv3_large_trunk
from flmprep.train.models.rccnn import CascadeOutput
from flmprep.train.models.shapenet import ShapeLayer, ShapeNet, fit_shape_model
from flmprep.train.models.vanilla import Vanilla96
from flmprep.train.predict import batch_loss

SEED_NAMES = {"DepthewiseSeperableConv2d": "DepthwiseSeparableConv2d"}


def _spec(name: str, k: int, size: int, **extra: int) -> ModelSpec:
    return ModelSpec.of(name, k, size, size, **extra)


@pytest.mark.parametrize(
    ("spec", "out_shape"),
    [
        (_spec("vanilla96", 5, 96), (2, 10)),
        (_spec("resnet18", 5, 64), (2, 10)),
        (_spec("mobilenetv3", 5, 64), (2, 10)),
        (_spec("xception", 5, 64), (2, 10)),
        (_spec("shapenet", 5, 64, components=3), (2, 10)),
        (_spec("heatmap", 5, 64), (2, 5, 16, 16)),
    ],
    ids=lambda v: v.name if isinstance(v, ModelSpec) else "",
)
def test_models_output_shapes(spec: ModelSpec, out_shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    model = build_model(spec).eval()
    images = torch.randint(0, 256, (2, spec.height, spec.width, spec.channels), dtype=torch.uint8)
    with torch.no_grad():
        out = model(prepare_images(images))
    assert tuple(out.shape) == out_shape
    assert tuple(decode_points(out, spec).shape) == (2, 5, 2)


def test_rccnn_outputs_every_pass() -> None:
    spec = _spec("rccnn", 5, 32, passes=2)
    out = build_model(spec).eval()(prepare_images(torch.zeros(3, 32, 32, 3, dtype=torch.uint8)))
    assert isinstance(out, CascadeOutput)
    assert tuple(out.heatmaps.shape) == (2, 3, 5, 8, 8) and tuple(out.points.shape) == (2, 3, 10)
    expected = unit_to_pixels(out.points[-1].reshape(3, 5, 2), 32, 32)
    torch.testing.assert_close(decode_points(out, spec), expected)


def test_registry_inputs_are_the_seeds() -> None:
    got = {name: (info.input, info.points) for name, info in MODELS.items()}
    assert got["vanilla96"] == ((3, 96, 96), 5)
    assert got["xception"] == ((1, 128, 128), 68)
    assert got["mobilenetv3"] == ((3, 256, 256), 98)
    assert got["shapenet"] == ((1, 224, 224), 68)
    assert got["rccnn"] == ((3, 256, 256), 194)


# --- seed 000: vanilla96 ---------------------------------------------------------------------

#: Seed 000's 20 layers: (type, conv/linear in, out, kernel, padding | pool kernel, stride, ceil).
VANILLA_LAYERS = [
    ("Conv2d", 3, 16, 5, 2), ("Tanh",), ("Abs",), ("MaxPool2d", 2, 2, False),
    ("Conv2d", 16, 48, 3, 1), ("Tanh",), ("Abs",), ("MaxPool2d", 2, 2, False),
    ("Conv2d", 48, 64, 3, 0), ("Tanh",), ("Abs",), ("MaxPool2d", 3, 2, True),
    ("Conv2d", 64, 64, 2, 0), ("Tanh",), ("Abs",), ("Flatten",),
    ("Linear", 6400, 1024), ("Tanh",), ("Abs",), ("Linear", 1024, 10),
]  # fmt: skip


def _describe(m: nn.Module) -> tuple[object, ...]:
    if isinstance(m, nn.Conv2d):
        assert m.bias is None, "seed 000's convolutions have no bias"
        return ("Conv2d", m.in_channels, m.out_channels, m.kernel_size[0], m.padding[0])
    if isinstance(m, nn.MaxPool2d):
        return ("MaxPool2d", m.kernel_size, m.stride, m.ceil_mode)
    if isinstance(m, nn.Linear):
        return ("Linear", m.in_features, m.out_features)
    return (type(m).__name__,)


def test_vanilla96_is_seed_000_layer_for_layer() -> None:
    model = build_model(_spec("vanilla96", 5, 96))
    assert isinstance(model, Vanilla96)
    layers = [_describe(m) for part in (model.features, model.head) for m in part]
    assert layers == VANILLA_LAYERS
    assert count_parameters(model) == 6_617_018
    features = model.features(torch.zeros(1, 3, 96, 96))
    assert tuple(features.shape) == (1, 6400)  # 64 × 10 × 10, from the ceil-mode 3×3 pool


# --- seed 004: xception ----------------------------------------------------------------------


def _seed_table(data_dir: Path) -> list[tuple[str, tuple[int, ...], int]]:
    path = data_dir / "seeds" / "xception_004_summary.tsv"
    lines = [line for line in path.read_text("utf-8").splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t"))
    assert [int(r["index"]) for r in rows] == list(range(1, 157))
    return [
        (
            SEED_NAMES.get(r["type"], r["type"]),
            tuple(int(v) for v in r["output"].split("x")),
            int(r["parameters"]),
        )
        for r in rows
    ]


def _walk(model: nn.Module, x: torch.Tensor) -> list[tuple[str, tuple[int, ...], int]]:
    """Every module's (type, output shape, own parameters) in call order, as torchsummary lists
    them (containers after their children; Sequential and the model itself left out)."""
    rows: list[tuple[str, tuple[int, ...], int]] = []

    def hook(module: nn.Module, _: object, out: torch.Tensor) -> None:
        own = sum(p.numel() for p in module.parameters(recurse=False))
        rows.append((type(module).__name__, tuple(out.shape[1:]), own))

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if m is not model and not isinstance(m, nn.Sequential | nn.ModuleList)
    ]
    with torch.no_grad():
        model.eval()(x)
    for h in handles:
        h.remove()
    return rows


def test_xception_walks_the_seed_table(data_dir: Path) -> None:
    model = build_model(_spec("xception", 68, 128))
    table = _seed_table(data_dir)
    walked = _walk(model, torch.zeros(1, 1, 128, 128))
    assert len(walked) == len(table)
    for index, (got, want) in enumerate(zip(walked, table, strict=True), start=1):
        assert got == want, f"layer {index}: expected {want}, found {got}"
    assert count_parameters(model) == sum(p for _, _, p in table) == 2_630_888


# --- seed 001: mobilenetv3 -------------------------------------------------------------------


def test_mobilenetv3_large_trunk_is_the_standard_configuration() -> None:
    trunk = mobilenetv3_large_trunk()
    # The standard classifier (960 → 1280, hard-swish, 1280 → 1000) on this trunk gives the
    # published MobileNetV3-Large count (5,483,032, as torchvision's mobilenet_v3_large).
    classifier = nn.Sequential(nn.Linear(960, 1280), nn.Hardswish(), nn.Linear(1280, 1000))
    assert count_parameters(trunk) + count_parameters(classifier) == 5_483_032
    model = build_model(_spec("mobilenetv3", 98, 256))
    assert tuple(trunk(torch.zeros(1, 3, 256, 256)).shape) == (1, 960, 8, 8)
    assert count_parameters(model) == count_parameters(trunk) + 960 * 8 * 8 * 196 + 196


# --- seed 002: shapenet's shape layer --------------------------------------------------------


def _shapes(rng: np.random.Generator, n: int, k: int = 68) -> np.ndarray:
    """Low-rank shapes around a mean (6 modes of decreasing spread) plus 0.2 px noise."""
    base = np.random.default_rng(99)
    mean = base.uniform(40, 180, size=2 * k)
    modes = np.linalg.qr(base.normal(size=(2 * k, 6)))[0].T
    z = rng.normal(size=(n, 6)) * np.array([20.0, 12.0, 8.0, 5.0, 3.0, 2.0])
    return (mean + z @ modes + rng.normal(0, 0.2, size=(n, 2 * k))).reshape(n, k, 2)


def test_shape_layer_reproduces_held_back_shapes_within_truncation_error() -> None:
    rng = np.random.default_rng(0)
    train, held = _shapes(rng, 300), _shapes(rng, 40)
    shape = fit_shape_model(train, 0.99)
    flat = train.reshape(len(train), -1)
    var = np.linalg.svd(flat - flat.mean(0), compute_uv=False) ** 2 / (len(train) - 1)
    m = len(shape.std)
    assert np.cumsum(var)[m - 1] / var.sum() >= 0.99 > np.cumsum(var)[m - 2] / var.sum()
    layer = ShapeLayer(68, m)
    layer.load_shape_model(shape)
    scores = torch.from_numpy(shape.project(held)).float()
    zeros = torch.zeros(len(held))
    got = layer(scores, zeros, zeros, torch.zeros(len(held), 2)).double().numpy()
    np.testing.assert_allclose(got, shape.reconstruct(shape.project(held)), atol=1e-3)
    residual = ((got - held) ** 2).sum(axis=(1, 2)).mean()
    truncation = var[m:].sum()  # expected squared error of a shape outside the m components
    assert residual <= 1.5 * truncation
    assert residual < 0.02 * var.sum()


def test_shape_layer_applies_the_similarity_about_the_mean_centroid() -> None:
    shape = fit_shape_model(_shapes(np.random.default_rng(1), 50, k=5), 0.9)
    layer = ShapeLayer(5, len(shape.std))
    layer.load_shape_model(shape)
    scores = np.random.default_rng(2).normal(size=(1, len(shape.std)))
    s, a, t = 1.5, 0.3, np.array([4.0, -2.0])
    got = layer(
        torch.tensor(scores, dtype=torch.float32),
        torch.tensor([math.log(s)]),
        torch.tensor([a]),
        torch.from_numpy(t[None]).float(),
    )[0].double().numpy()
    local = shape.reconstruct(scores)[0]
    centre = shape.mean.reshape(-1, 2).mean(axis=0)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    np.testing.assert_allclose(got, s * (local - centre) @ rot.T + centre + t, atol=1e-3)


def test_untrained_shapenet_predicts_the_mean_shape() -> None:
    shapes = _shapes(np.random.default_rng(3), 60, k=68) * 0.25
    shape = fit_shape_model(shapes, 0.99)
    spec = _spec("shapenet", 68, 64, components=len(shape.std))
    model = build_model(spec).eval()
    assert isinstance(model, ShapeNet)
    model.shape.load_shape_model(shape)
    with torch.no_grad():
        out = model(torch.zeros(2, 1, 64, 64))
    pts = decode_points(out, spec)[0].double().numpy()
    np.testing.assert_allclose(pts, shape.mean.reshape(-1, 2), atol=1e-3)


def test_pca_keeps_the_fewest_components_for_the_share() -> None:
    shapes = _shapes(np.random.default_rng(4), 200)
    assert len(fit_shape_model(shapes, 0.5).std) == 1  # the first mode holds > half the spread
    assert len(fit_shape_model(shapes, 1.0).std) == 136  # every direction: min(N - 1, 2K)
    assert len(fit_shape_model(shapes[:20], 1.0).std) == 19
    with pytest.raises(ValueError, match="all equal"):
        fit_shape_model(np.zeros((4, 5, 2)), 0.99)


# --- seed 003: rccnn's loss ------------------------------------------------------------------


def _batch(points: torch.Tensor) -> Batch:
    b, k = points.shape[:2]
    return Batch(
        images=torch.zeros(b, 32, 32, 3, dtype=torch.uint8),
        landmarks=points,
        visible=torch.ones(b, k, dtype=torch.bool),
        transforms=torch.zeros(b, 2, 3, dtype=torch.float64),
        keys=[f"k{i}" for i in range(b)],
    )


def test_rccnn_loss_is_summed_over_passes() -> None:
    torch.manual_seed(0)
    spec = _spec("rccnn", 4, 32, passes=3)
    out = build_model(spec).eval()(torch.randn(2, 3, 32, 32))
    batch = _batch(torch.rand(2, 4, 2) * 28 + 2)
    total = batch_loss(out, batch, spec, "cascade")
    single = ModelSpec.of("rccnn", 4, 32, 32, passes=1)
    per_pass = [
        batch_loss(CascadeOutput(out.heatmaps[r : r + 1], out.points[r : r + 1]), batch, single, "cascade")
        for r in range(3)
    ]
    assert total.item() == pytest.approx(sum(p.item() for p in per_pass), rel=1e-6)
    assert min(p.item() for p in per_pass) > 0
    size = (32, 32)
    maps = render_heatmaps(to_heatmap_coords(batch.landmarks, size, (8, 8)), batch.visible, (8, 8), 2.5)
    pts = unit_to_pixels(out.points[0].reshape(2, 4, 2), 32, 32)
    first = losses.heatmap_cross_entropy(out.heatmaps[0], maps) + losses.mse(pts, batch.landmarks, size)
    assert per_pass[0].item() == pytest.approx(first.item(), rel=1e-6)


def test_heatmap_cross_entropy_by_hand() -> None:
    points, visible = torch.tensor([[[3.0, 4.0], [1.0, 6.0]]]), torch.tensor([[True, False]])
    targets = render_heatmaps(points, visible, (8, 8), 1.5)
    dist = targets[0, 0] / targets[0, 0].sum()
    entropy = -(dist * dist.clamp_min(1e-30).log()).sum()
    # logits = log of the target distribution: cross-entropy = its entropy (the minimum);
    # uniform logits: log(64). The invisible point (zero map) is left out.
    logits = torch.stack([dist.clamp_min(1e-30).log(), torch.randn(8, 8)])[None]
    assert losses.heatmap_cross_entropy(logits, targets).item() == pytest.approx(entropy.item(), rel=1e-5)
    uniform = torch.zeros(1, 2, 8, 8)
    assert losses.heatmap_cross_entropy(uniform, targets).item() == pytest.approx(math.log(64), rel=1e-6)


# --- conventions and the other losses -------------------------------------------------------


def test_heatmap_model_refuses_odd_sizes() -> None:
    with pytest.raises(ValueError, match="divisible by 16"):
        build_model(ModelSpec("heatmap", 5, 90, 96))


def test_shapenet_needs_its_components() -> None:
    with pytest.raises(ValueError, match="PCA components"):
        build_model(_spec("shapenet", 5, 64))


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
    assert [check_loss(m, "") for m in MODELS] == [info.loss for info in MODELS.values()]
    assert check_loss("xception", "") == "mse" and check_loss("rccnn", "") == "cascade"
    assert check_loss("mobilenetv3", "wing") == "wing"
    with pytest.raises(ValueError, match=r"does not fit model 'vanilla96' \(regression output\)"):
        check_loss("vanilla96", "heatmap")
    with pytest.raises(ValueError, match="expected one of cascade"):
        check_loss("rccnn", "mse")
