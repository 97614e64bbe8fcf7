"""The torch heatmap twin against the formula and ``flmprep.targets``; soft-argmax decoding."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from flmprep.cli import main as cli
from flmprep.data import Segment, open_dataset, read_segment
from flmprep.train.heatmaps import from_heatmap_coords, render_heatmaps, soft_argmax, to_heatmap_coords

points = st.lists(st.tuples(st.floats(-3, 20), st.floats(-3, 14), st.booleans()), min_size=1, max_size=6)


def _direct(pts: np.ndarray, vis: np.ndarray, w: int, h: int, sigma: float) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w]
    maps = np.exp(
        -((xs[None] - pts[:, 0, None, None]) ** 2 + (ys[None] - pts[:, 1, None, None]) ** 2) / (2 * sigma**2)
    )
    return maps * vis[:, None, None]


@settings(max_examples=60, deadline=None)
@given(points, st.floats(0.8, 4.0))
def test_render_matches_the_formula(rows: list[tuple[float, float, bool]], sigma: float) -> None:
    pts = np.array([[x, y] for x, y, _ in rows])
    vis = np.array([v for _, _, v in rows])
    got = render_heatmaps(torch.tensor(pts[None]), torch.tensor(vis[None]), (17, 11), sigma)[0].numpy()
    np.testing.assert_allclose(got, _direct(pts, vis, 17, 11, sigma), atol=2e-6)


@settings(max_examples=40, deadline=None)
@given(points)
def test_render_equals_numpy_targets(rows: list[tuple[float, float, bool]]) -> None:
    targets = pytest.importorskip("flmprep.targets")
    pts = np.array([[x, y] for x, y, _ in rows], dtype=np.float32)
    vis = np.array([v for _, _, v in rows])
    ref = targets.render_heatmaps(pts, vis, (17, 11), 2.5)
    got = render_heatmaps(torch.tensor(pts[None]), torch.tensor(vis[None]), (17, 11), 2.5)[0].numpy()
    np.testing.assert_allclose(got, ref, atol=2e-6)


def test_coordinate_maps_match_targets_and_invert() -> None:
    targets = pytest.importorskip("flmprep.targets")
    pts = np.array([[0.0, 0.0], [95.0, 95.0], [47.3, 12.9]], dtype=np.float32)
    hm = to_heatmap_coords(torch.tensor(pts), (96, 96), (24, 24))
    np.testing.assert_allclose(hm.numpy(), targets.to_heatmap_coords(pts, (96, 96), (24, 24)), atol=1e-5)
    np.testing.assert_allclose(from_heatmap_coords(hm, (96, 96), (24, 24)).numpy(), pts, atol=1e-4)
    assert hm[0].tolist() == pytest.approx([-0.375, -0.375])  # pixel 0's centre is 3/8 px inside map pixel 0


def test_nonfinite_points_render_as_zero() -> None:
    pts = torch.tensor([[[float("nan"), 3.0], [4.0, 4.0]]])
    maps = render_heatmaps(pts, torch.tensor([[True, True]]), (8, 8), 2.0)
    assert torch.all(maps[0, 0] == 0) and maps[0, 1].max() == pytest.approx(1.0)


@settings(max_examples=30, deadline=None)
@given(st.floats(8.0, 23.0), st.floats(8.0, 23.0))
def test_soft_argmax_recovers_subpixel_centre(x: float, y: float) -> None:
    maps = render_heatmaps(torch.tensor([[[x, y]]]), torch.tensor([[True]]), (32, 32), 2.5)
    got = soft_argmax(maps, sigma=2.5)[0, 0]
    assert got.tolist() == pytest.approx([x, y], abs=0.01)  # window truncation bias < 0.01 map px


def test_soft_argmax_ignores_far_clutter_and_falls_back_to_argmax() -> None:
    maps = render_heatmaps(torch.tensor([[[10.3, 20.6]]]), torch.tensor([[True]]), (40, 40), 1.5)
    maps[0, 0, 0, 39] = 0.9  # a distant spurious peak outside the window
    assert soft_argmax(maps, 1.5)[0, 0].tolist() == pytest.approx([10.3, 20.6], abs=0.01)
    negative = -torch.ones(1, 1, 8, 8)
    negative[0, 0, 5, 2] = -0.5
    assert soft_argmax(negative, 1.5)[0, 0].tolist() == [2.0, 5.0]


def test_device_render_matches_heatmaps_stored_by_build(tmp_path: Path) -> None:
    """`flmprep build --heatmaps` stores uint8 maps; the trainer's render equals them to quantisation."""
    from flmprep.targets import decode_heatmaps_png

    runner = CliRunner()
    done = runner.invoke(cli, ["synth", "celeba", str(tmp_path / "syn"), "--n", "20", "--seed", "5"])
    assert done.exit_code == 0, done.output
    args = [
        "build",
        "--dataset",
        "celeba",
        "--root",
        str(tmp_path / "syn"),
        "--out",
        str(tmp_path / "out"),
        "--splits",
        "val",
        "--heatmaps",
        "--heatmap-size",
        "24x24",
        "--sigma",
        "1.5",
        "--no-progress",
    ]
    done = runner.invoke(cli, args)
    assert done.exit_code == 0, done.output
    manifest = open_dataset(tmp_path / "out")
    shard = manifest.shards("val")[0]
    checked = 0
    for raw in read_segment(manifest.root, Segment(shard.path, 0, shard.samples)):
        doc = json.loads(raw.members["json"])
        hm = doc["heatmap"]
        size = (doc["image"]["width"], doc["image"]["height"])
        pts = to_heatmap_coords(torch.tensor(doc["landmarks"])[None], size, tuple(hm["size"]))
        got = render_heatmaps(pts, torch.tensor(doc["visible"])[None], tuple(hm["size"]), hm["sigma"])[0]
        stored = decode_heatmaps_png(raw.members[hm["member"]], len(doc["landmarks"]))
        np.testing.assert_allclose(got.numpy(), stored, atol=0.5 / 255 + 1e-4)
        checked += 1
    assert checked == shard.samples >= 1
