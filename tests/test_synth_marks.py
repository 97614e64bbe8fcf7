"""Colour-coded marks: palette properties, sub-pixel recovery on synth images, after warps."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import simplejpeg
from hypothesis import given, settings
from hypothesis import strategies as st

from flmprep.schemes import get_scheme
from flmprep.synth import SynthResult, synthesize
from flmprep.synth.faces import template
from flmprep.synth.marks import CHROMA, draw_marks, find_marks, mark_colour, palette

SCHEME_DATASETS = {"celeba5": "celeba", "ibug68": "pts", "wflw98": "wflw", "helen194": "helen"}


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, path
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def synth_sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SynthResult]:
    """Four single-face datasets (one per scheme), 4 images each."""
    root = tmp_path_factory.mktemp("synth-marks")
    return {
        scheme: synthesize(ds, root / ds, n=4, seed=11, max_faces=1) for scheme, ds in SCHEME_DATASETS.items()
    }


def _chroma(rgb: np.ndarray) -> np.ndarray:
    c = rgb.astype(np.float64)
    return np.stack(
        [(c[..., 0] - c[..., 1]) / math.sqrt(2), (c[..., 0] + c[..., 1] - 2 * c[..., 2]) / math.sqrt(6)], -1
    )


@pytest.mark.parametrize("k", [5, 68, 98, 194])
def test_palette_distinct_equal_chroma_and_neighbours_differ(k: int) -> None:
    pal = palette(k)
    assert pal.shape == (k, 3) and pal.dtype == np.uint8
    assert len({tuple(c) for c in pal}) == k
    length = np.linalg.norm(_chroma(pal), axis=1)
    assert np.abs(length - CHROMA).max() < 1.0
    assert all(mark_colour(i, k) == tuple(int(v) for v in pal[i]) for i in range(k))
    # each landmark's 4 nearest template neighbours have clearly different chroma directions
    names = {5: "celeba5", 68: "ibug68", 98: "wflw98", 194: "helen194"}
    shape = template(names[k])
    angle = np.arctan2(_chroma(pal)[:, 1], _chroma(pal)[:, 0])
    for i in range(k):
        near = np.argsort(np.linalg.norm(shape - shape[i], axis=1))[1:5]
        assert np.abs(np.sin(angle[near] - angle[i])).min() > 0.3, (i, near)


def test_mark_colour_rejects_bad_index() -> None:
    with pytest.raises(ValueError, match=r"\[0, 5\), found 5"):
        mark_colour(5, 5)


@settings(max_examples=40, deadline=None)
@given(
    x=st.floats(12, 51),
    y=st.floats(12, 51),
    radius=st.floats(1.5, 9.0),
    index=st.integers(0, 97),
    level=st.floats(80, 175),
    slope=st.floats(-1.5, 1.5),
)
def test_single_mark_recovered_sub_pixel(
    x: float, y: float, radius: float, index: int, level: float, slope: float
) -> None:
    yy, xx = np.mgrid[0:64, 0:64]
    grey = np.clip(level + slope * (xx - 32) + 0.5 * slope * (yy - 32), 0, 255)
    canvas = np.repeat(grey[..., None], 3, axis=2).astype(np.float32)
    points = np.zeros((98, 2))
    points[index] = (x, y)
    radii = np.zeros(98)
    radii[index] = radius
    draw_marks(canvas, points, radii, 98)
    pos, found = find_marks(np.rint(canvas).astype(np.uint8), 98)
    assert found.sum() == 1 and found[index]
    assert np.hypot(*(pos[index] - (x, y))) < 0.08


def test_absent_cut_and_duplicate_marks_are_not_found() -> None:
    canvas = np.full((60, 120, 3), 128.0, dtype=np.float32)
    points = np.array([[20.0, 30.0], [60.0, 30.0], [1.0, 10.0], [100.0, 30.0], [0.0, 0.0]])
    radii = np.array([4.0, 4.0, 4.0, 0.0, 0.0])
    draw_marks(canvas, points, radii, 5)
    draw_marks(
        canvas, np.array([[0, 0], [100.0, 45.0], [0, 0], [0, 0], [0, 0]]), np.array([0, 4.0, 0, 0, 0]), 5
    )
    pos, found = find_marks(np.rint(canvas).astype(np.uint8), 5)
    assert found.tolist() == [True, False, False, False, False]  # 1 twice, 2 cut by the border, 3-4 absent
    assert np.hypot(*(pos[0] - (20, 30))) < 0.02
    assert np.isnan(pos[1:]).all()


def test_find_marks_needs_rgb() -> None:
    with pytest.raises(ValueError, match="HxWx3"):
        find_marks(np.zeros((10, 10), dtype=np.uint8), 5)


def _max_error(result: SynthResult, scheme: str) -> tuple[float, float]:
    k = get_scheme(scheme).num_points
    worst, found_all = 0.0, []
    for image in result.images:
        pos, found = find_marks(_read_rgb(result.root / image.path), k)
        truth = image.faces[0].landmarks
        worst = max(worst, float(np.hypot(*(pos[found] - truth[found]).T).max()))
        found_all.append(found)
    return worst, float(np.concatenate(found_all).mean())


@pytest.mark.parametrize("scheme", list(SCHEME_DATASETS))
def test_unwarped_recovery_below_a_tenth_of_a_pixel(synth_sets: dict[str, SynthResult], scheme: str) -> None:
    worst, found = _max_error(synth_sets[scheme], scheme)
    print(f"{scheme}: unwarped max error {worst:.3f} px, found {found:.1%}")
    assert worst < 0.1
    assert found >= (0.97 if scheme == "helen194" else 1.0)


def _warp(
    pixels: np.ndarray, centre: np.ndarray, angle: float, scale: float, out: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate by ``angle`` and scale by ``scale`` about ``centre``, which lands mid-output.

    Below 0.5x the image is first shrunk with INTER_AREA (exact pixel-centre mapping), then
    warped with INTER_LINEAR. Returns the output and the 3x3 source -> output matrix.
    """
    h, w = pixels.shape[:2]
    pre = np.eye(3)
    if scale < 0.5:
        sw, sh = max(round(w * scale), 1), max(round(h * scale), 1)
        pixels = cv2.resize(pixels, (sw, sh), interpolation=cv2.INTER_AREA)
        fx, fy = sw / w, sh / h
        pre = np.array([[fx, 0, 0.5 * fx - 0.5], [0, fy, 0.5 * fy - 0.5], [0, 0, 1.0]])
    c = pre @ [centre[0], centre[1], 1.0]
    rest = cv2.getRotationMatrix2D((float(c[0]), float(c[1])), angle, scale / pre[0, 0])
    rest[:, 2] += (out - 1) / 2 - c[:2]
    warped = cv2.warpAffine(pixels, rest, (out, out), flags=cv2.INTER_LINEAR)
    return warped, np.vstack([rest, [0, 0, 1]]) @ pre


WARPS = [(20.0, 0.3, 256), (20.0, 1.7, 256), (-20.0, 0.3, 96)]


@pytest.mark.parametrize("scheme", list(SCHEME_DATASETS))
def test_recovery_after_rotation_and_scale(synth_sets: dict[str, SynthResult], scheme: str) -> None:
    k = get_scheme(scheme).num_points
    result = synth_sets[scheme]
    report = []
    for angle, scale, out in WARPS:
        worst, found, inside = 0.0, 0, 0
        for image in result.images:
            truth = image.faces[0].landmarks
            warped, m = _warp(_read_rgb(result.root / image.path), truth.mean(axis=0), angle, scale, out)
            expected = truth @ m[:2, :2].T + m[:2, 2]
            pos, ok = find_marks(warped, k)
            if ok.any():
                worst = max(worst, float(np.hypot(*(pos[ok] - expected[ok]).T).max()))
            found += int(ok.sum())
            inside += int(((expected > 3) & (expected < out - 4)).all(axis=1).sum())
        report.append(
            f"rot {angle:+.0f} scale {scale} -> {out}px: max {worst:.3f} px, found {found}/{inside}"
        )
        assert worst < 0.5, report[-1]
    print(f"{scheme}: " + "; ".join(report))


@pytest.fixture(scope="module")
def sparse_sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SynthResult]:
    """The same four datasets with sparse marks (only landmarks 2.5 mark radii apart)."""
    root = tmp_path_factory.mktemp("synth-sparse")
    return {
        scheme: synthesize(ds, root / ds, n=4, seed=11, max_faces=1, sparse_marks=True)
        for scheme, ds in SCHEME_DATASETS.items()
    }


def _crop_stats(result: SynthResult, scheme: str, out: int) -> tuple[float, int, int]:
    """Face crops like the recipes (landmark box x1.25, rotated ±20°) -> (max error, found,
    marks drawn wholly inside the output)."""
    k = get_scheme(scheme).num_points
    worst, found, drawn = 0.0, 0, 0
    for n, image in enumerate(result.images):
        face = image.faces[0]
        side = 1.25 * float(np.ptp(face.landmarks, axis=0).max())
        centre = (face.landmarks.min(axis=0) + face.landmarks.max(axis=0)) / 2
        warped, m = _warp(_read_rgb(result.root / image.path), centre, 20.0 * (-1) ** n, out / side, out)
        expected = face.landmarks @ m[:2, :2].T + m[:2, 2]
        pos, ok = find_marks(warped, k)
        assert not ok[face.radii == 0].any()
        if ok.any():
            worst = max(worst, float(np.hypot(*(pos[ok] - expected[ok]).T).max()))
        found += int(ok.sum())
        margin = (face.radii * out / side + 2.0)[:, None]  # a mark cut by the border is not found
        inside = ((expected > margin) & (expected < out - 1 - margin)).all(axis=1)
        drawn += int((inside & (face.radii > 0)).sum())
    return worst, found, drawn


@pytest.mark.parametrize("scheme", list(SCHEME_DATASETS))
@pytest.mark.parametrize("out", [96, 256])
def test_recipe_like_face_crops(
    synth_sets: dict[str, SynthResult], sparse_sets: dict[str, SynthResult], scheme: str, out: int
) -> None:
    dense = _crop_stats(synth_sets[scheme], scheme, out)
    sparse = _crop_stats(sparse_sets[scheme], scheme, out)
    print(
        f"{scheme} -> {out}px: dense max {dense[0]:.3f} px found {dense[1]}/{dense[2]}; "
        f"sparse max {sparse[0]:.3f} px found {sparse[1]}/{sparse[2]}"
    )
    assert dense[0] < 0.5 and sparse[0] < 0.5
    assert sparse[1] >= 0.9 * sparse[2]


@pytest.mark.parametrize("scheme", list(SCHEME_DATASETS))
def test_grey_photometric_changes_never_move_a_found_mark(
    synth_sets: dict[str, SynthResult], scheme: str
) -> None:
    """Brightness, contrast, gamma and a q95 4:2:0 JPEG (the shard default) keep a grey scene
    grey: marks may get lost, never misplaced."""
    k = get_scheme(scheme).num_points
    image = synth_sets[scheme].images[0]
    face = image.faces[0]
    side = 1.25 * float(np.ptp(face.landmarks, axis=0).max())
    centre = (face.landmarks.min(axis=0) + face.landmarks.max(axis=0)) / 2
    warped, m = _warp(_read_rgb(synth_sets[scheme].root / image.path), centre, 15.0, 256 / side, 256)
    expected = face.landmarks @ m[:2, :2].T + m[:2, 2]
    px = warped.astype(np.float64)
    shard_jpeg = simplejpeg.decode_jpeg(simplejpeg.encode_jpeg(warped, 95, colorsubsampling="420"))
    for changed in (px + 25, (px - px.mean()) * 0.75 + px.mean(), 255 * (px / 255) ** 0.8, shard_jpeg):
        pos, ok = find_marks(np.rint(np.clip(changed, 0, 255)).astype(np.uint8), k)
        assert np.hypot(*(pos[ok] - expected[ok]).T).max(initial=0.0) < 0.5
