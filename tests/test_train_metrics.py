"""NME / failure rate / AUC against hand-computed values, in source pixels via the inverse transform."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flmprep.schemes import get_scheme
from flmprep.train import metrics

IBUG = metrics.protocol_for("ibug68")


def test_summary_matches_hand_computed_values() -> None:
    nme = np.array([0.02, 0.05, 0.09, 0.12])
    m = metrics.summarise(nme, IBUG)
    assert m.count == 4
    assert m.nme == pytest.approx(0.07)
    assert m.failure[0.08] == pytest.approx(0.5)  # 0.09 and 0.12 exceed 0.08
    assert m.failure[0.10] == pytest.approx(0.25)  # only 0.12 exceeds 0.10
    # CED area on [0, 0.1]: (0.1-0.02) + (0.1-0.05) + (0.1-0.09) + 0 = 0.14, over 4 faces and 0.1.
    assert m.auc[0.10] == pytest.approx(0.35)
    # on [0, 0.08]: 0.06 + 0.03 + 0 + 0 = 0.09, over 4 faces and 0.08.
    assert m.auc[0.08] == pytest.approx(0.09 / 4 / 0.08)
    assert m.to_json() == {
        "count": 4,
        "nme": pytest.approx(0.07),
        "fr_008": pytest.approx(0.5),
        "fr_010": pytest.approx(0.25),
        "auc_008": pytest.approx(0.28125),
        "auc_010": pytest.approx(0.35),
    }


@pytest.mark.parametrize(
    ("scheme", "normaliser", "failure", "auc"),
    [
        ("wflw98", "inter-ocular, outer eye corners 60–72", (0.10,), (0.10,)),
        ("ibug68", "inter-ocular, outer eye corners 36–45", (0.08, 0.10), (0.08, 0.10)),
        ("helen194", "landmark box √(w·h) of the ground truth", (0.07,), (0.07,)),
        ("celeba5", "inter-ocular, eye centres 0–1", (0.08, 0.10), (0.10,)),
    ],
)
def test_protocol_per_scheme(scheme: str, normaliser: str, failure: tuple, auc: tuple) -> None:
    protocol = metrics.protocol_for(scheme)
    assert (protocol.normaliser, protocol.failure, protocol.auc) == (normaliser, failure, auc)
    doc = protocol.to_json()
    assert doc["failure_thresholds"] == list(failure) and doc["auc_limits"] == list(auc)
    keys = [key for key, _ in protocol.columns()]
    assert set(keys) <= set(metrics.summarise(np.array([0.05]), protocol).to_json())


def test_box_protocol_scores_at_007() -> None:
    m = metrics.summarise(np.array([0.03, 0.06, 0.08]), metrics.protocol_for("helen194"))
    assert m.failure == {0.07: pytest.approx(1 / 3)}
    assert m.auc == {0.07: pytest.approx((0.04 + 0.01) / 3 / 0.07)}


def test_auc_equals_fine_grid_integral_of_ced() -> None:
    rng = np.random.default_rng(0)
    nme = rng.uniform(0, 0.15, size=200)
    grid = np.linspace(0, 0.1, 100001)
    ced = (nme[None, :] <= grid[:, None]).mean(axis=1)
    area = float(np.sum((ced[1:] + ced[:-1]) / 2 * np.diff(grid))) / 0.1
    assert metrics.summarise(nme, IBUG).auc[0.10] == pytest.approx(area, abs=1e-4)


def test_nme_in_source_pixels_with_hand_values() -> None:
    scheme = get_scheme("celeba5")  # normaliser: distance between points 0 and 1
    gt_src = np.array([[[10.0, 10.0], [30.0, 10.0], [20.0, 20.0], [12.0, 30.0], [28.0, 30.0]]])
    pred_src = gt_src.copy()
    pred_src[0, 2] += [3.0, 4.0]  # one point 5 px off
    # transform: scale 2, shift (5, -7); predictions and truth are stored in output pixels.
    tf = np.array([[[2.0, 0.0, 5.0], [0.0, 2.0, -7.0]]])
    pred_out = pred_src * 2 + [5.0, -7.0]
    gt_out = gt_src * 2 + [5.0, -7.0]
    back_pred = metrics.to_source(pred_out, tf)
    back_gt = metrics.to_source(gt_out, tf)
    np.testing.assert_allclose(back_gt, gt_src, atol=1e-12)
    nme = metrics.nme_per_face(back_pred, back_gt, scheme)
    assert nme[0] == pytest.approx(5.0 / 5 / 20.0)  # mean error 1 px over inter-ocular 20 px


@settings(max_examples=50, deadline=None)
@given(st.floats(0.2, 5.0), st.floats(-3.0, 3.0), st.floats(-100, 100), st.floats(-100, 100), st.booleans())
def test_to_source_inverts_any_similarity(
    scale: float, angle: float, tx: float, ty: float, flip: bool
) -> None:
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    sign = -1.0 if flip else 1.0
    tf = np.array([[[sign * c, -s, tx], [sign * s, c, ty]]])
    src = np.random.default_rng(1).uniform(0, 500, size=(1, 7, 2))
    out = np.einsum("ij,nkj->nki", tf[0, :, :2], src) + tf[0, :, 2]
    np.testing.assert_allclose(metrics.to_source(out, tf), src, atol=1e-8)


def test_subsets_use_binary_attributes_only() -> None:
    nme = np.array([0.01, 0.2, 0.05])
    attrs = [
        {"pose": 1, "blur": False, "age": 30},
        {"pose": 0, "blur": True, "age": 2},
        {"pose": 1, "blur": 0},
    ]
    subsets = metrics.subset_metrics(nme, attrs, IBUG)
    assert set(subsets) == {"pose", "blur"}
    assert subsets["pose"].count == 2
    assert subsets["pose"].nme == pytest.approx(0.03)
    assert subsets["blur"].failure[0.10] == pytest.approx(1.0)


def test_attribute_set_on_no_face_has_no_row() -> None:
    attrs: list[dict[str, object]] = [{"pose": False, "blur": True}, {"pose": 0, "blur": False}]
    subsets = metrics.subset_metrics(np.array([0.01, 0.02]), attrs, IBUG)
    assert set(subsets) == {"blur"}


def test_zero_normaliser_is_refused() -> None:
    gt = np.zeros((1, 5, 2))
    with pytest.raises(ValueError, match="normaliser"):
        metrics.nme_per_face(gt, gt, get_scheme("celeba5"))
