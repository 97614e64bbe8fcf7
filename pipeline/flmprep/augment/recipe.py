"""The recipe registry and the two entry points the shard builder calls: ``render_view``
(sample, warp once, jitter) and ``replay_view`` (the same from a sample's ``augment`` dict)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from flmprep import geometry
from flmprep.augment.base import GEOMETRY_DRAWS, Face, Recipe
from flmprep.augment.celeba import CelebaRecipe
from flmprep.augment.config import make_config
from flmprep.augment.errors import AugmentError
from flmprep.augment.face300w import Face300wRecipe
from flmprep.augment.helen import HelenRecipe
from flmprep.augment.params import PhotometricParams, ViewParams
from flmprep.augment.photometric import apply_photometric, sample_photometric
from flmprep.augment.seeding import rng_for, seed_for
from flmprep.augment.wflw import WflwRecipe
from flmprep.errors import ConfigError
from flmprep.records import FaceRecord
from flmprep.schemes import get_scheme

_CLASSES: dict[str, type[Recipe]] = {
    "celeba": CelebaRecipe,
    "wflw": WflwRecipe,
    "300w": Face300wRecipe,
    "helen": HelenRecipe,
}
RECIPES = tuple(_CLASSES)
_PHOTOMETRIC_DRAWS = 5
#: Tolerance (output pixels) of the visibility test at the output's edges.
_EDGE_EPS = 1e-6
_local = threading.local()


def get_recipe(name: str, **overrides: Any) -> Recipe:
    """The recipe ``name`` with its preset and ``overrides`` (None values ignored)."""
    config = make_config(name, overrides)
    return _CLASSES[name](config)


def check_scheme(recipe: Recipe, scheme: str) -> None:
    """Fail fast (``FlipUnsupportedError``) when the recipe flips and ``scheme`` cannot."""
    if recipe.config.flip_prob > 0.0:
        get_scheme(scheme).flip_indices()


@dataclass(frozen=True, eq=False)
class View:
    """One rendered view: ``pixels`` (H×W×3 RGB or H×W grey uint8), ``landmarks`` float32 [K, 2]
    and ``visible`` bool [K] in output pixels, the 3×3 source → output ``matrix``, the sampled
    ``params``, the JSON-ready ``augment`` dict and the ``photometric`` factors (or None)."""

    pixels: np.ndarray
    landmarks: np.ndarray
    visible: np.ndarray
    matrix: np.ndarray
    params: ViewParams
    augment: dict[str, Any]
    photometric: PhotometricParams | None = None


def checked_points(pixels: np.ndarray, record: FaceRecord) -> np.ndarray:
    """The record's landmarks as float64, after checking they are finite and inside the image."""
    points = np.asarray(record.landmarks, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"{record.key}: landmarks: expected shape [K, 2], found {points.shape}")
    if not np.isfinite(points).all():
        bad = int(np.flatnonzero(~np.isfinite(points).all(axis=1))[0])
        raise AugmentError(
            "nonfinite_landmarks", f"{record.key}: landmark {bad}: expected finite, found {points[bad]}"
        )
    height, width = pixels.shape[:2]
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


@dataclass(frozen=True, eq=False)
class _Source:
    """Per-record work shared by a record's views: the checked landmarks and the pixels to warp
    (RGBX when several views amortise the conversion: 4-channel warps are ~2× faster and give
    the same bytes). Holds ``record`` and ``pixels`` so that identity checks stay valid."""

    record: FaceRecord
    pixels: np.ndarray
    face: Face
    warp_from: np.ndarray


def _source(pixels: np.ndarray, record: FaceRecord, many_views: bool) -> _Source:
    """The cached ``_Source`` of the last (record, pixels) seen on this thread, or a new one."""
    cached: _Source | None = getattr(_local, "source", None)
    if cached is not None and cached.record is record and cached.pixels is pixels:
        return cached
    points = checked_points(pixels, record)
    warp_from = pixels
    if many_views and pixels.ndim == 3 and pixels.shape[2] == 3:
        warp_from = cv2.cvtColor(pixels, cv2.COLOR_RGB2RGBA)
    source = _Source(record, pixels, Face.of(record, points, (pixels.shape[1], pixels.shape[0])), warp_from)
    _local.source = source
    return source


def render_view(
    recipe: Recipe, pixels: np.ndarray, record: FaceRecord, *, view: int, build_seed: int, split: str
) -> View:
    """View ``view`` of ``record``: random (seeded by ``seed_for``) on the train split, the
    canonical crop on every other split. Raises ``AugmentError`` for a record it cannot crop.
    Consecutive views of one record share its checks (do not modify ``pixels`` in between)."""
    check_scheme(recipe, record.scheme)
    source = _source(pixels, record, recipe.num_views(split) > 1)
    seed = seed_for(build_seed, record.key, view)
    photo = None
    if split == "train":
        u = rng_for(seed).random(GEOMETRY_DRAWS + _PHOTOMETRIC_DRAWS).tolist()
        params = recipe.plan(source.face, u[:GEOMETRY_DRAWS])
        if recipe.config.photometric:
            photo = sample_photometric(recipe.config, u[GEOMETRY_DRAWS:])
    else:
        params = recipe.plan(source.face, None)
    return apply_view(
        recipe, source.warp_from, record, source.face.points, params, photo, view=view, seed=seed
    )


def replay_view(recipe: Recipe, pixels: np.ndarray, record: FaceRecord, augment: dict[str, Any]) -> View:
    """Re-render a view from its stored ``augment`` dict (as parsed from the sample JSON)."""
    if augment.get("recipe") != recipe.name:
        raise ConfigError(f"augment.recipe: expected {recipe.name!r}, found {augment.get('recipe')!r}")
    params = ViewParams.from_json(augment["params"])
    stored = augment.get("photometric")
    photo = None if stored is None else PhotometricParams.from_json(stored)
    points = checked_points(pixels, record)
    return apply_view(
        recipe, pixels, record, points, params, photo, view=int(augment["view"]), seed=int(augment["seed"])
    )


def warp(pixels: np.ndarray, params: ViewParams, matrix: np.ndarray, interpolation: str) -> np.ndarray:
    """``geometry.warp_image`` with its no-pre-shrink case done directly (same call, same bytes),
    skipping the SVD the general function needs: the view's stretch is known in closed form."""
    if interpolation != "nearest" and params.max_stretch() < geometry.PRESHRINK_BELOW:
        return geometry.warp_image(pixels, matrix, params.out_size, interpolation=interpolation)
    flags = geometry.INTERPOLATIONS[interpolation]
    out = cv2.warpAffine(pixels, matrix[:2], params.out_size, flags=flags, borderMode=cv2.BORDER_CONSTANT)
    return out.reshape(params.out_size[1], params.out_size[0], *pixels.shape[2:])


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
) -> View:
    """Warp once with the params' matrix, jitter, convert to grey if asked, move the points.
    ``pixels`` may be RGBX (4 channels); the output is RGB or grey."""
    matrix = params.matrix()
    out = warp(pixels, params, matrix, recipe.config.interpolation)
    if out.ndim == 3 and out.shape[2] == 4:
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
        "seed": seed,
        "angle": params.angle,
        "scale": params.scale,
        "flip": params.flip,
        "params": params.to_json(),
        "photometric": None if photo is None else photo.to_json(),
    }
    return View(out, moved.astype(np.float32), visible, matrix, params, augment, photo)
