"""Exactness through the real pipeline: synthetic images with colour-coded landmark marks are
written in native layouts, read back by the readers, decoded, rendered by every recipe, encoded
as PNG, decoded, and the marks found in the output must sit on the transformed landmarks."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from flmprep.augment import RECIPES, AugmentError, get_recipe, render_view, replay_view, source_reduce
from flmprep.augment.base import Recipe
from flmprep.augment.recipe import View
from flmprep.formats import read_dataset
from flmprep.imageio import decode, encode, read_image
from flmprep.records import FaceRecord
from flmprep.schemes import get_scheme
from flmprep.synth import synthesize
from flmprep.synth.marks import find_marks

log = logging.getLogger(__name__)
SEEDS = 200
TOLERANCE = 0.5


@dataclass(frozen=True, eq=False)
class Sample:
    record: FaceRecord
    pixels: np.ndarray
    radii: np.ndarray  # mark radius of each landmark in source pixels (0: unmarked)
    path: Path


def load(
    tmp: Path, dataset: str, n: int, seed: int, image_format: str = "png", **options: object
) -> list[Sample]:
    """``flmprep synth`` data (PNG, lossless, unless told) read back through the dataset's reader."""
    result = synthesize(dataset, tmp / dataset, n, seed, image_format=image_format, **options)  # type: ignore[arg-type]
    radii = {(im.path, f): face.radii for im in result.images for f, face in enumerate(im.faces)}
    records = list(read_dataset(dataset, result.root))
    assert len(records) == len(result.records)
    return [
        Sample(r, read_image(result.root / r.image).pixels, np.asarray(radii[(r.image, r.face)]),
               result.root / r.image)
        for r in records
    ]


@pytest.fixture(scope="module")
def celeba(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    return load(tmp_path_factory.mktemp("synth"), "celeba-aligned", 4, seed=1)


@pytest.fixture(scope="module")
def ibug(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    """Sub-pixel iBUG .pts landmarks, 68 points, every mark drawn."""
    return load(tmp_path_factory.mktemp("synth"), "pts", 2, seed=2)


@pytest.fixture(scope="module")
def dlib300w(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    """300W dlib XML: faces with boxes; sparse marks (no two touch)."""
    return load(tmp_path_factory.mktemp("synth"), "300w", 3, seed=3, sparse_marks=True)


def mark_errors(
    view_pixels: np.ndarray, landmarks: np.ndarray, expect: np.ndarray, source_index: np.ndarray
) -> tuple[np.ndarray, int]:
    """Distances between the marks found (after a PNG round trip) and the landmarks, and how
    many of the ``expect``-ed points (marked, well inside) have no mark found."""
    decoded = decode(encode(view_pixels, "png")).pixels
    pos, found = find_marks(decoded, len(landmarks))
    hit = found[source_index]
    errors = np.linalg.norm(pos[source_index][hit] - landmarks[hit], axis=1)
    return errors, int((expect & ~hit).sum())


def well_inside(landmarks: np.ndarray, margin: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Points at least ``margin`` (per point) from every edge of a ``size`` = (w, h) image."""
    w, h = size
    x, y = landmarks[:, 0], landmarks[:, 1]
    return (x >= margin) & (y >= margin) & (x <= w - 1 - margin) & (y <= h - 1 - margin)


def render_as_built(recipe: Recipe, sample: Sample, view: int, seed: int) -> tuple[View, int]:
    """The view decoded as the shard builder decodes it: at ``source_reduce`` of the record."""
    h, w = sample.pixels.shape[:2]
    reduce = source_reduce(recipe, sample.record, (w, h), build_seed=seed, split="train")
    pixels = read_image(sample.path, reduce=reduce).pixels
    out = render_view(recipe, pixels, sample.record, view=view, build_seed=seed, split="train", reduce=reduce,
                      source_size=(w, h))
    return out, reduce


@dataclass(frozen=True)
class Checked:
    worst: float  # largest mark error, px
    marks: int  # marks found
    reduced: int  # views decoded at 1/2 or smaller


def check_recipe(
    name: str, samples: list[Sample], seeds: int, overrides: dict[str, object] | None = None, *,
    as_built: bool = False, max_missed: float = 0.02,
) -> Checked:
    """Render ``seeds`` views (decoded at full size, or ``as_built``); every found mark within
    TOLERANCE px, at most ``max_missed`` of the marks well inside lost."""
    recipe = get_recipe(name, **(overrides or {}))
    scheme = get_scheme(samples[0].record.scheme)
    worst, missed, expected, checked, flips, rejected, reduced = 0.0, 0, 0, 0, 0, 0, 0
    for seed in range(seeds):
        sample = samples[seed % len(samples)]
        try:
            if as_built:
                view, reduce = render_as_built(recipe, sample, seed % 3, seed)
                reduced += reduce > 1
            else:
                view = render_view(
                    recipe, sample.pixels, sample.record, view=seed % 3, build_seed=seed, split="train"
                )
        except AugmentError as e:  # helen on a face nearly as tall as its image
            assert e.reason == "image_too_small"
            rejected += 1
            continue
        source_index = scheme.flip_indices() if view.params.flip else np.arange(scheme.num_points)
        flips += view.params.flip
        radii = sample.radii[source_index] * view.params.max_stretch()
        expect = (radii > 0) & well_inside(view.landmarks, radii + 2.0, view.params.out_size)
        errors, lost = mark_errors(view.pixels, view.landmarks, expect, source_index)
        checked += len(errors)
        expected += int(expect.sum())
        missed += lost
        worst = max([worst, *errors.tolist()])
    log.info("%s on %s: %d marks, max error %.3f px, %d flips", name, scheme.name, checked, worst, flips)
    print(f"{name} on {scheme.name}: {checked} marks, {seeds} seeds, max error {worst:.3f} px, {flips} flips")
    assert checked >= (seeds - rejected) * 2 and rejected <= seeds // 4
    # marks well inside are found (a few of 68 touching marks may merge beyond unmixing)
    assert missed <= max_missed * expected
    assert worst <= TOLERANCE
    return Checked(worst, checked, reduced)


@pytest.mark.parametrize("name", RECIPES)
def test_marks_follow_landmarks_for_every_recipe(name: str, celeba: list[Sample]) -> None:
    # 300w crops to the face box, here (no box in CelebA aligned) the landmark extent: widen it
    # so that the marks on its edge are not cut
    overrides: dict[str, object] = {"grey": False, "box_scale": 1.5} if name == "300w" else {}
    if name == "wflw":
        overrides["flip_prob"] = 0.5
    check_recipe(name, celeba, SEEDS, overrides)


@pytest.fixture(scope="module")
def celeba_wild(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    """CelebA in the wild (JPEG q100 4:4:4, so the reduced decode is libjpeg's DCT scaling):
    faces small in large images, so crops shrink the source 2-4×."""
    return load(tmp_path_factory.mktemp("synth"), "celeba", 6, seed=4, image_format="jpg")


@pytest.mark.parametrize("name", ["celeba", "wflw"])
def test_marks_follow_landmarks_through_the_reduced_decode(name: str, celeba_wild: list[Sample]) -> None:
    """The builder decodes at 1/r when every view of a record shrinks by r or more and warps
    from that grid: the marks still sit on the landmarks."""
    overrides: dict[str, object] = {"out_size": 64, "flip_prob": 0.5} if name == "wflw" else {}
    # the synthetic marks of these five points touch at some scales (lost either way): compare
    # how many are found with what the full decode finds
    full = check_recipe(name, celeba_wild, 60, overrides, max_missed=0.5)
    built = check_recipe(name, celeba_wild, 60, overrides, as_built=True, max_missed=0.5)
    assert built.reduced >= 8 and built.marks >= 0.98 * full.marks >= 100


def test_reduced_views_replay_byte_for_byte(celeba_wild: list[Sample]) -> None:
    recipe = get_recipe("celeba", photometric=True)
    reduces = set()
    for seed in range(6):
        sample = celeba_wild[seed % len(celeba_wild)]
        view, reduce = render_as_built(recipe, sample, 2, seed)
        stored = json.loads(json.dumps(view.augment))
        assert stored["reduce"] == reduce
        h, w = sample.pixels.shape[:2]
        replayed = replay_view(recipe, read_image(sample.path, reduce=reduce).pixels, sample.record, stored,
                               source_size=(w, h))
        assert encode(view.pixels, "png") == encode(replayed.pixels, "png")
        reduces.add(reduce)
    assert max(reduces) > 1


def test_flips_swap_identities_on_68_points(ibug: list[Sample]) -> None:
    check_recipe("wflw", ibug, 40, {"flip_prob": 0.5})


@pytest.mark.parametrize("name", ["300w", "helen"])
def test_face_box_crops_on_300w_data(name: str, dlib300w: list[Sample]) -> None:
    """The 300w recipe crops to the dlib box the reader returns (run in colour to see marks)."""
    assert all(s.record.bbox is not None for s in dlib300w)
    overrides: dict[str, object] = {"grey": False, "box_scale": 1.3} if name == "300w" else {}
    check_recipe(name, dlib300w, 30, overrides)


def test_flipped_left_eye_is_the_left_mark(celeba: list[Sample]) -> None:
    recipe = get_recipe("wflw", flip_prob=1.0, max_angle=0.0, scale_jitter=0.0, shift_jitter=0.0)
    sample = celeba[0]
    view = render_view(recipe, sample.pixels, sample.record, view=0, build_seed=0, split="train")
    pos, found = find_marks(view.pixels, 5)
    assert found.all()
    # output point 0 (image-left eye) sits on the mark drawn for the source's right eye (index 1)
    assert np.linalg.norm(pos[1] - view.landmarks[0]) <= TOLERANCE
    assert view.landmarks[0, 0] < view.landmarks[1, 0]


@pytest.mark.parametrize("name", RECIPES)
def test_bytes_are_reproducible_and_replayable(name: str, celeba: list[Sample]) -> None:
    recipe = get_recipe(name, photometric=True)
    encoded: set[bytes] = set()
    for seed in range(8):
        sample = celeba[seed % len(celeba)]
        view = render_view(recipe, sample.pixels, sample.record, view=1, build_seed=seed, split="train")
        again = render_view(recipe, sample.pixels, sample.record, view=1, build_seed=seed, split="train")
        stored = json.loads(json.dumps(view.augment))
        replayed = replay_view(get_recipe(name, photometric=True), sample.pixels, sample.record, stored)
        png = encode(view.pixels, "png")
        assert png == encode(again.pixels, "png") == encode(replayed.pixels, "png")
        encoded.add(png)
    assert len(encoded) == 8


def test_300w_grey_is_the_luma_of_the_colour_view(celeba: list[Sample]) -> None:
    grey, colour = get_recipe("300w", max_angle=10.0), get_recipe("300w", max_angle=10.0, grey=False)
    for seed in range(10):
        sample = celeba[seed % len(celeba)]
        g = render_view(grey, sample.pixels, sample.record, view=0, build_seed=seed, split="train")
        c = render_view(colour, sample.pixels, sample.record, view=0, build_seed=seed, split="train")
        assert g.pixels.ndim == 2 and np.array_equal(g.pixels, cv2.cvtColor(c.pixels, cv2.COLOR_RGB2GRAY))
        assert np.array_equal(g.landmarks, c.landmarks)
