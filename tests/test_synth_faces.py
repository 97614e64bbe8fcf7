"""Face templates and placement: flip symmetry, image-left/right, spacing, similarity poses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flmprep.schemes import SCHEME_NAMES, get_scheme
from flmprep.synth.faces import FacePose, face_shape, min_face_scale, nearest_spacing, template


@pytest.mark.parametrize("name", [s for s in SCHEME_NAMES if get_scheme(s).can_flip])
def test_mirror_with_flip_permutation_maps_template_onto_itself(name: str) -> None:
    shape = template(name)
    mirrored = shape * [-1.0, 1.0]
    np.testing.assert_allclose(mirrored[get_scheme(name).flip_indices()], shape, atol=1e-12)


def test_image_left_and_right_follow_the_real_data() -> None:
    # FORMATS.md: CelebA lefteye_x < righteye_x; WFLW pt60.x < pt72.x and pt96.x < pt97.x;
    # iBUG 68 (real 300W box): 0 and 36 image-left, 16 and 45 image-right, 55 lower-right of 59.
    c5, i68, w98 = template("celeba5"), template("ibug68"), template("wflw98")
    assert c5[0, 0] < c5[1, 0] and c5[3, 0] < c5[4, 0]
    assert w98[60, 0] < w98[72, 0] and w98[96, 0] < w98[97, 0] and w98[83, 0] > w98[87, 0]
    assert i68[0, 0] < i68[16, 0] and i68[36, 0] < i68[45, 0] and i68[55, 0] > i68[59, 0]
    assert i68[8, 1] == i68[:, 1].max()  # chin lowest


@pytest.mark.parametrize("name", SCHEME_NAMES)
def test_templates_have_k_distinct_points(name: str) -> None:
    shape = template(name)
    assert shape.shape == (get_scheme(name).num_points, 2)
    assert nearest_spacing(name).min() > 0.03


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(SCHEME_NAMES))
def test_jittered_shapes_keep_points_apart(seed: int, name: str) -> None:
    shape = face_shape(name, np.random.default_rng(seed))
    d = np.linalg.norm(shape[:, None] - shape[None], axis=2) + np.eye(len(shape)) * 1e9
    scale = min_face_scale(name, 4.0)
    assert d.min() * scale >= 4.0 - 1e-9


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(5, 300), angle=st.floats(-30, 30), tx=st.floats(-50, 500), ty=st.floats(-50, 500))
def test_pose_is_a_similarity(scale: float, angle: float, tx: float, ty: float) -> None:
    pose = FacePose(scale, angle, tx, ty)
    pts = pose.apply(template("ibug68"))
    src = template("ibug68")
    ratio = np.linalg.norm(pts[1:] - pts[0], axis=1) / np.linalg.norm(src[1:] - src[0], axis=1)
    np.testing.assert_allclose(ratio, scale, rtol=1e-9)
    np.testing.assert_allclose(pose.apply(np.zeros((1, 2))), [[tx, ty]], atol=1e-9)
