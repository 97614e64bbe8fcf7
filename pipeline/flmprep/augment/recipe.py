"""The recipe registry and rendering: ``plan_record`` (every view of a record, pixel-free),
``decode_reduce`` and ``apply_plan`` (warp once, jitter) for the shard builder, ``render_view``
for one view, ``replay_view`` (the same from a sample's ``augment`` dict)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

import cv2
import numpy as np

from flmprep import geometry, imageio
from flmprep.augment.base import GEOMETRY_DRAWS, Face, Recipe
from flmprep.augment.config import RecipeConfig, make_config
from flmprep.augment.errors import AugmentError
from flmprep.augment.face300w import Face300wRecipe
from flmprep.augment.helen import HelenRecipe
from flmprep.augment.landmark_box import LandmarkBoxRecipe
from flmprep.augment.params import PhotometricParams, ViewParams, photometric_field, photometric_from_field
from flmprep.augment.photometric import apply_photometric, sample_photometric
from flmprep.augment.seeding import rng_for, seed_for
from flmprep.errors import ConfigError
from flmprep.records import FaceRecord
from flmprep.schemes import get_scheme

#: Each recipe by name: its class, with the settings that define it rather than options.
_MAKERS: dict[str, Callable[[RecipeConfig], Recipe]] = {
    "celeba": partial(LandmarkBoxRecipe, "celeba", keep_inside=True),
    "wflw": partial(LandmarkBoxRecipe, "wflw", keep_inside=False),
    "300w": partial(Face300wRecipe, "300w"),
    "helen": partial(HelenRecipe, "helen"),
}
RECIPES = tuple(_MAKERS)
_PHOTOMETRIC_DRAWS = 5
#: Tolerance (output pixels) of the visibility test at the output's edges.
_EDGE_EPS = 1e-6


def get_recipe(name: str, **overrides: Any) -> Recipe:
    """The recipe ``name`` with its preset and ``overrides`` (None values ignored)."""
    config = make_config(name, overrides)
    return _MAKERS[name](config)


def check_scheme(recipe: Recipe, scheme: str) -> None:
    """Fail fast (``FlipUnsupportedError``) when the recipe flips and ``scheme`` cannot."""
    if recipe.config.flip_prob > 0.0:
        get_scheme(scheme).flip_indices()


@dataclass(frozen=True, eq=False)
class View:
    """One rendered view: ``image`` (the uint8 pixels to encode: H×W×3 RGB, H×W×4 RGBX with
    X = 255, or H×W grey), ``landmarks`` float32 [K, 2] and ``visible`` bool [K] in output
    pixels, the 3×3 source → output ``matrix``, the sampled ``params``, the JSON-ready
    ``augment`` dict and the ``photometric`` factors (or None). ``pixels`` is ``image`` as RGB
    or grey."""

    image: np.ndarray
    landmarks: np.ndarray
    visible: np.ndarray
    matrix: np.ndarray
    params: ViewParams
    augment: dict[str, Any]
    photometric: PhotometricParams | None = None

    @cached_property
    def pixels(self) -> np.ndarray:
        """H×W×3 RGB or H×W grey (RGBX is converted on first use)."""
        if self.image.ndim == 3 and self.image.shape[2] == 4:
            return cv2.cvtColor(self.image, cv2.COLOR_RGBA2RGB)
        return self.image


def checked_points(record: FaceRecord, size: tuple[int, int]) -> np.ndarray:
    """The record's landmarks as float64, after checking they are finite and inside the
    ``size`` = (w, h) source image."""
    points = np.asarray(record.landmarks, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"{record.key}: landmarks: expected shape [K, 2], found {points.shape}")
    if not np.isfinite(points).all():
        bad = int(np.flatnonzero(~np.isfinite(points).all(axis=1))[0])
        raise AugmentError(
            "nonfinite_landmarks", f"{record.key}: landmark {bad}: expected finite, found {points[bad]}"
        )
    width, height = size
    lo = points.min(axis=0)
    hi = points.max(axis=0)
    if lo[0] < -0.5 or lo[1] < -0.5 or hi[0] > width - 0.5 or hi[1] > height - 0.5:
        outside = (points < -0.5).any(axis=1) | (points[:, 0] > width - 0.5) | (points[:, 1] > height - 0.5)
        bad = int(np.flatnonzero(outside)[0])
        raise AugmentError(
            "landmarks_outside_image",
            f"{record.key}: landmark {bad}: expected inside the {width}×{height} image "
            f"(x in [-0.5, {width - 0.5}], y in [-0.5, {height - 0.5}]), "
            f"found ({points[bad, 0]:.2f}, {points[bad, 1]:.2f})",
        )
    return points


@dataclass(frozen=True)
class ViewPlan:
    """The pixel-free part of one view: its index, seed, geometry and photometric factors."""

    view: int
    seed: int
    params: ViewParams
    photometric: PhotometricParams | None


def plan_view(recipe: Recipe, face: Face, *, view: int, build_seed: int, split: str) -> ViewPlan:
    """View ``view`` of ``face``: random (seeded by ``seed_for``) on the train split, the
    canonical crop on every other split. Raises ``AugmentError`` for a face it cannot crop."""
    seed = seed_for(build_seed, face.record.key, view)
    photo = None
    if split == "train":
        u = rng_for(seed).random(GEOMETRY_DRAWS + _PHOTOMETRIC_DRAWS).tolist()
        params = recipe.plan(face, u[:GEOMETRY_DRAWS])
        if recipe.config.photometric:
            photo = sample_photometric(recipe.config, u[GEOMETRY_DRAWS:])
    else:
        params = recipe.plan(face, None)
    return ViewPlan(view, seed, params, photo)


def plan_record(
    recipe: Recipe, record: FaceRecord, size: tuple[int, int], *, build_seed: int, split: str
) -> tuple[Face, list[ViewPlan]]:
    """Every view of ``record`` (source image ``size`` = (w, h)), planned without pixels, with
    the checks of ``render_view``."""
    check_scheme(recipe, record.scheme)
    face = Face.of(record, checked_points(record, size), size)
    views = range(recipe.num_views(split))
    return face, [plan_view(recipe, face, view=v, build_seed=build_seed, split=split) for v in views]


def decode_reduce(recipe: Recipe, plans: Sequence[ViewPlan]) -> int:
    """The factor (1, 2, 4 or 8) to decode a record's source at (``imageio.decode(...,
    reduce=r)``: DCT-domain scaling for JPEG, an area average otherwise) so that every planned
    view still shrinks it (r × stretch <= 1): the largest such r, 1 for nearest-neighbour.
    Decoding is faster at 1/2 and beyond, and the warps then need no area pre-shrink."""
    if recipe.config.interpolation == "nearest" or not plans:
        return 1
    return min(imageio.reduce_for(p.params.max_stretch()) for p in plans)


def source_reduce(recipe: Recipe, record: FaceRecord, size: tuple[int, int], *, build_seed: int,
                  split: str) -> int:
    """``decode_reduce`` of every view of ``record``: the factor the shard builder decodes its
    source at (a record's views share one decode). Raises like ``plan_record``."""
    return decode_reduce(recipe, plan_record(recipe, record, size, build_seed=build_seed, split=split)[1])


def _source_size(pixels: np.ndarray, reduce: int, source_size: tuple[int, int] | None) -> tuple[int, int]:
    """The full source size: ``source_size``, required when ``pixels`` were decoded at 1/``reduce``."""
    if reduce not in imageio.REDUCE_FACTORS:
        raise ValueError(f"reduce: expected one of {imageio.REDUCE_FACTORS}, found {reduce!r}")
    if source_size is None:
        if reduce != 1:
            raise ValueError("source_size: expected the full (width, height) when reduce > 1, found None")
        return int(pixels.shape[1]), int(pixels.shape[0])
    w, h = int(source_size[0]), int(source_size[1])
    if pixels.shape[:2] != (-(-h // reduce), -(-w // reduce)):
        raise ValueError(f"pixels: expected the {w}×{h} source decoded at 1/{reduce}, "
                         f"found shape {pixels.shape}")
    return w, h


def render_view(
    recipe: Recipe,
    pixels: np.ndarray,
    record: FaceRecord,
    *,
    view: int,
    build_seed: int,
    split: str,
    reduce: int = 1,
    source_size: tuple[int, int] | None = None,
) -> View:
    """View ``view`` of ``record``: random (seeded by ``seed_for``) on the train split, the
    canonical crop on every other split. Raises ``AugmentError`` for a record it cannot crop.
    ``pixels`` is the source decoded at 1/``reduce`` (give the full ``source_size`` then).
    For one view; to render many views of a record, plan them once (``plan_record``), decode
    at ``decode_reduce`` and call ``apply_plan`` for each, as the shard builder does."""
    check_scheme(recipe, record.scheme)
    size = _source_size(pixels, reduce, source_size)
    face = Face.of(record, checked_points(record, size), size)
    plan = plan_view(recipe, face, view=view, build_seed=build_seed, split=split)
    return apply_plan(recipe, pixels, record, face.points, plan, reduce=reduce)


def apply_plan(recipe: Recipe, pixels: np.ndarray, record: FaceRecord, points: np.ndarray, plan: ViewPlan,
               *, reduce: int = 1) -> View:
    """``apply_view`` of a ``ViewPlan``."""
    return apply_view(recipe, pixels, record, points, plan.params, plan.photometric, view=plan.view,
                      seed=plan.seed, reduce=reduce)


def replay_view(
    recipe: Recipe,
    pixels: np.ndarray,
    record: FaceRecord,
    augment: dict[str, Any],
    *,
    source_size: tuple[int, int] | None = None,
) -> View:
    """Re-render a view from its stored ``augment`` dict (as parsed from the sample JSON).
    ``pixels`` is the source decoded at 1/``augment["reduce"]`` (1 when absent), as
    ``imageio.decode(data, reduce=...)`` gives it; ``source_size`` is then its full size."""
    if augment.get("recipe") != recipe.name:
        raise ConfigError(f"augment.recipe: expected {recipe.name!r}, found {augment.get('recipe')!r}")
    params = ViewParams.from_json(augment["params"])
    photo = photometric_from_field(augment.get("photometric"))
    reduce = augment.get("reduce", 1)
    if isinstance(reduce, bool) or not isinstance(reduce, int):
        raise ValueError(f"augment.reduce: expected one of {imageio.REDUCE_FACTORS}, found {reduce!r}")
    points = checked_points(record, _source_size(pixels, reduce, source_size))
    return apply_view(
        recipe, pixels, record, points, params, photo, view=int(augment["view"]), seed=int(augment["seed"]),
        reduce=reduce,
    )


def apply_view(
    recipe: Recipe,
    pixels: np.ndarray,
    record: FaceRecord,
    points: np.ndarray,
    params: ViewParams,
    photo: PhotometricParams | None,
    *,
    view: int,
    seed: int,
    reduce: int = 1,
) -> View:
    """Warp once with the params' matrix, jitter, convert to grey if asked, move the points.
    ``pixels`` may be RGBX (4 channels); so is the output then, unless jittered or grey (the
    encoders take RGBX as is). ``pixels`` decoded at 1/``reduce`` are warped with the matrix
    folded onto their grid (``geometry.area_expand``); the view's matrix stays source → output."""
    matrix = params.matrix()
    warp_matrix = matrix if reduce == 1 else matrix @ geometry.area_expand(reduce)
    out = geometry.warp_image(pixels, warp_matrix, params.out_size, interpolation=recipe.config.interpolation,
                              stretch=reduce * params.max_stretch())
    if out.ndim == 3 and out.shape[2] == 4 and (photo is not None or recipe.config.grey):
        out = cv2.cvtColor(out, cv2.COLOR_RGBA2RGB)
    if photo is not None:
        out = apply_photometric(out, photo)
    if recipe.config.grey and out.ndim == 3:
        out = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
    out_w, out_h = params.out_size
    # one C call each (numpy's small-array overhead would dominate): move, then test against
    # the output's pixel edges, inclusive up to _EDGE_EPS (a point on an edge counts as inside)
    moved = cv2.transform(points.reshape(-1, 1, 2), matrix[:2]).reshape(-1, 2)
    lo, hi = -0.5 - _EDGE_EPS, (out_w - 0.5 + _EDGE_EPS, out_h - 0.5 + _EDGE_EPS)
    visible = cv2.inRange(moved.reshape(-1, 1, 2), (lo, lo), hi).ravel() != 0
    if params.flip:
        perm = get_scheme(record.scheme).flip_indices()
        moved, visible = moved[perm], visible[perm]
    augment = {
        "recipe": recipe.name,
        "view": view,
        "seed": str(seed),  # 64-bit: Arrow, parquet and pandas hold integers only below 2**63
        "angle": float(params.angle),
        "scale": float(params.scale),
        "flip": bool(params.flip),
        "params": params.to_json(),
        "photometric": photometric_field(photo),
        "reduce": reduce,
    }
    return View(out, moved.astype(np.float32), visible, matrix, params, augment, photo)
