"""``render_view`` / ``replay_view``: determinism, replay from JSON, flips, grey, errors."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flmprep import geometry
from flmprep.augment import (
    RECIPES,
    AugmentError,
    ViewParams,
    get_recipe,
    render_view,
    replay_view,
)
from flmprep.errors import ConfigError, FlipUnsupportedError
from flmprep.records import FaceRecord

RNG = np.random.default_rng(11)
IMAGE = cv2.GaussianBlur(RNG.integers(0, 256, (300, 360, 3), dtype=np.uint8), (0, 0), 2.0)
FACE5 = np.array([[150.0, 120.0], [210.0, 122.0], [180.0, 160.0], [155.0, 195.0], [205.0, 197.0]])


def record(points: np.ndarray = FACE5, scheme: str = "celeba5", key: str = "synth_img_f0") -> FaceRecord:
    return FaceRecord(key, "synth", "train", "img.png", 0, scheme, np.asarray(points, np.float32))


def views(name: str, seeds: range, **overrides: object) -> list:
    recipe = get_recipe(name, **overrides)
    return [
        render_view(recipe, IMAGE, record(), view=v, build_seed=s, split="train")
        for s in seeds
        for v in (0, 1)
    ]


@pytest.mark.parametrize("name", RECIPES)
def test_same_seed_same_bytes_other_seed_other_bytes(name: str) -> None:
    a = views(name, range(3), photometric=True)
    b = views(name, range(3), photometric=True)
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x.pixels, y.pixels) and x.augment == y.augment
        assert np.array_equal(x.landmarks, y.landmarks) and np.array_equal(x.matrix, y.matrix)
    digests = {x.pixels.tobytes() for x in a}
    assert len(digests) == len(a)


@pytest.mark.parametrize("name", RECIPES)
def test_replay_from_parsed_json_gives_identical_bytes(name: str) -> None:
    recipe = get_recipe(name, photometric=True, crops=4)
    for v in range(4):
        view = render_view(recipe, IMAGE, record(), view=v, build_seed=5, split="train")
        stored = json.loads(json.dumps(view.augment, sort_keys=True, separators=(",", ":")))
        again = replay_view(get_recipe(name, photometric=True), IMAGE.copy(), record(), stored)
        assert np.array_equal(view.pixels, again.pixels)
        assert np.array_equal(view.landmarks, again.landmarks) and again.augment == view.augment


def test_augment_dict_is_plain_json_with_the_contract_keys() -> None:
    view = views("wflw", range(1), photometric=True)[0]
    assert set(view.augment) == {"recipe", "view", "seed", "angle", "scale", "flip", "params", "photometric",
                                  "reduce"}
    assert json.loads(json.dumps(view.augment)) == view.augment
    assert view.augment["params"] == view.params.to_json()
    assert view.landmarks.dtype == np.float32 and view.visible.dtype == bool
    assert view.matrix.shape == (3, 3)


@pytest.mark.parametrize("name", RECIPES)
def test_landmarks_move_with_the_stored_matrix(name: str) -> None:
    for view in views(name, range(4)):
        moved = geometry.apply_points(view.matrix, FACE5)
        if view.params.flip:
            moved = moved[[1, 0, 2, 4, 3]]  # celeba5: eyes and mouth corners swap
        assert np.allclose(view.landmarks, moved, atol=1e-4)
        w, h = view.params.out_size
        eps = 1e-6  # a point on an output edge counts as visible
        inside = ((moved >= -0.5 - eps) & (moved <= (w - 0.5 + eps, h - 0.5 + eps))).all(axis=1)
        assert np.array_equal(view.visible, inside)


def test_flip_permutes_and_mirrors() -> None:
    recipe = get_recipe("wflw", flip_prob=1.0, max_angle=0.0, scale_jitter=0.0, shift_jitter=0.0)
    plain = get_recipe("wflw", flip_prob=0.0, max_angle=0.0, scale_jitter=0.0, shift_jitter=0.0)
    a = render_view(recipe, IMAGE, record(), view=0, build_seed=1, split="train")
    b = render_view(plain, IMAGE, record(), view=0, build_seed=1, split="train")
    assert a.augment["flip"] and not b.augment["flip"]
    assert np.array_equal(a.pixels, b.pixels[:, ::-1])
    mirrored = np.stack([255.0 - b.landmarks[:, 0], b.landmarks[:, 1]], axis=1)
    assert np.allclose(a.landmarks, mirrored[[1, 0, 2, 4, 3]], atol=1e-4)
    # the new image-left eye (index 0) is left of the new right eye
    assert a.landmarks[0, 0] < a.landmarks[1, 0]


def test_flip_needs_a_permutation() -> None:
    pts = np.random.default_rng(0).uniform(100, 200, (194, 2))
    helen = FaceRecord("h_f0", "synth", "train", "h.png", 0, "helen194", pts.astype(np.float32))
    with pytest.raises(FlipUnsupportedError, match="helen194"):
        render_view(get_recipe("helen", flip_prob=0.5), IMAGE, helen, view=0, build_seed=0, split="train")
    view = render_view(get_recipe("helen"), IMAGE, helen, view=0, build_seed=0, split="train")
    assert view.visible.all()


def test_canonical_views_ignore_the_seed() -> None:
    for name in RECIPES:
        recipe = get_recipe(name, photometric=True)
        a = render_view(recipe, IMAGE, record(), view=0, build_seed=1, split="test")
        b = render_view(recipe, IMAGE, record(), view=0, build_seed=2, split="val")
        assert np.array_equal(a.pixels, b.pixels)
        assert not a.augment["photometric"]["applied"] and a.augment["angle"] == 0.0 and not a.augment["flip"]
        assert a.augment["photometric"] == {"applied": False, "brightness": 1.0, "contrast": 1.0,
                                            "gamma": 1.0, "saturation": 1.0, "hue": 0.0}


def test_grey_output_is_the_luma_of_the_colour_output() -> None:
    grey = views("300w", range(2), photometric=True)
    colour = views("300w", range(2), photometric=True, grey=False)
    for g, c in zip(grey, colour, strict=True):
        assert g.pixels.shape == (224, 224) and c.pixels.shape == (224, 224, 3)
        assert np.array_equal(g.pixels, cv2.cvtColor(c.pixels, cv2.COLOR_RGB2GRAY))


def test_rgbx_and_rgb_warps_agree() -> None:
    """The builder decodes a record with several views as RGBX: its views are the RGB ones."""
    many = get_recipe("celeba", crops=20, max_angle=30.0)
    one = get_recipe("celeba", crops=1, max_angle=30.0)
    rgbx = cv2.cvtColor(IMAGE, cv2.COLOR_RGB2RGBA)
    for v in range(3):
        a = render_view(many, rgbx, record(), view=v, build_seed=3, split="train")
        b = render_view(one, IMAGE, record(), view=v, build_seed=3, split="train")
        assert a.image.shape[2] == 4 and b.image.shape[2] == 3
        assert np.array_equal(a.pixels, b.pixels)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-40, 40),
    st.floats(20, 700),
    st.sampled_from(["nearest", "linear", "cubic", "lanczos"]),
    st.booleans(),
)
def test_warp_with_known_stretch_is_warp_image(angle: float, side: float, interp: str, flip: bool) -> None:
    p = ViewParams(
        angle,
        (180.0, 150.0),
        (180 - side / 2, 150 - side / 3, 180 + side / 2, 150 + side / 2),
        flip,
        1.0,
        (96, 80),
    )
    m = p.matrix()
    assert np.array_equal(
        geometry.warp_image(IMAGE, m, p.out_size, interpolation=interp, stretch=p.max_stretch()),
        geometry.warp_image(IMAGE, m, (96, 80), interpolation=interp),
    )


def test_bad_landmarks_are_rejected_with_reasons() -> None:
    recipe = get_recipe("celeba")
    bad = FACE5.copy()
    bad[2, 1] = np.nan
    with pytest.raises(AugmentError, match="landmark 2: expected finite") as e:
        render_view(recipe, IMAGE, record(bad, key="k1_f0"), view=0, build_seed=0, split="train")
    assert e.value.reason == "nonfinite_landmarks"
    out = FACE5.copy()
    out[4] = (359.6, 10.0)
    with pytest.raises(
        AugmentError, match=r"landmark 4: expected inside the 360×300 image .* found \(359.60, 10.00\)"
    ) as e:
        render_view(recipe, IMAGE, record(out, key="k2_f0"), view=0, build_seed=0, split="train")
    assert e.value.reason == "landmarks_outside_image"
    edge = FACE5.copy()
    edge[4] = (359.5, -0.5)  # the outer pixel edges still count as inside
    render_view(recipe, IMAGE, record(edge, key="k3_f0"), view=0, build_seed=0, split="train")


def test_helen_on_a_small_image_is_image_too_small() -> None:
    corners = np.array([[0.0, 0.0], [359.0, 0.0], [0.0, 299.0], [359.0, 299.0], [180.0, 150.0]])
    recipe = get_recipe("helen", max_angle=30.0)
    reasons = set()
    for seed in range(5):
        with pytest.raises(AugmentError, match=r"helen: expected a .* crop inside the 360×300 image") as e:
            render_view(recipe, IMAGE, record(corners), view=0, build_seed=seed, split="train")
        reasons.add(e.value.reason)
    assert reasons == {"image_too_small"}
    # the canonical view never rotates, so it always fits
    render_view(recipe, IMAGE, record(corners), view=0, build_seed=0, split="test")


def test_replay_checks_the_recipe_name() -> None:
    view = views("celeba", range(1))[0]
    with pytest.raises(ConfigError, match=r"augment\.recipe: expected 'wflw', found 'celeba'"):
        replay_view(get_recipe("wflw"), IMAGE, record(), view.augment)
