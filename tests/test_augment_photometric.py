"""Photometric kernels: the lookup table and colour matrix against direct float arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from flmprep.augment import PhotometricParams, apply_photometric, get_recipe
from flmprep.augment.photometric import LUMA, colour_matrix, mean_luma, sample_photometric

images = arrays(np.uint8, (12, 9, 3), elements=st.integers(0, 255))
factors = st.floats(0.5, 1.5)


def reference_tone(img: np.ndarray, p: PhotometricParams) -> np.ndarray:
    """Brightness, contrast about the mean luma, gamma: straight float64 maths on every pixel."""
    x = img.astype(np.float64) / 255.0
    luma = (img.astype(np.float64) @ np.array(LUMA)).mean() / 255.0
    m = p.brightness * luma
    x = np.clip((x * p.brightness - m) * p.contrast + m, 0.0, 1.0) ** p.gamma  # as the docs say it
    return np.floor(x * 255.0 + 0.5).astype(np.uint8)


@settings(max_examples=60, deadline=None)
@given(images, factors, factors, factors)
def test_tone_lut_equals_float_reference(img: np.ndarray, b: float, c: float, g: float) -> None:
    p = PhotometricParams(brightness=b, contrast=c, gamma=g)
    out = apply_photometric(img, p)
    ref = reference_tone(img, p)
    # cv2.mean and the NumPy mean may differ in the last bits of the luma: allow one level
    assert np.abs(out.astype(int) - ref).max() <= 1
    assert (out == ref).mean() > 0.95


@settings(max_examples=60, deadline=None)
@given(images, st.floats(0.0, 2.0), st.floats(-0.5, 0.5))
def test_colour_matrix_equals_float_reference(img: np.ndarray, s: float, h: float) -> None:
    p = PhotometricParams(saturation=s, hue=h)
    out = apply_photometric(img, p)
    ref = img.astype(np.float64) @ colour_matrix(p).astype(np.float64).T
    # cv2.transform rounds once in float32 arithmetic: within one level of the float64 maths
    assert np.abs(out.astype(float) - np.clip(ref, 0, 255)).max() < 1.0


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 255), st.floats(0.0, 2.0), st.floats(-0.5, 0.5))
def test_grey_stays_grey(level: int, s: float, h: float) -> None:
    img = np.full((4, 4, 3), level, np.uint8)
    out = apply_photometric(img, PhotometricParams(saturation=s, hue=h))
    assert np.abs(out.astype(int) - level).max() <= 1


def test_saturation_zero_gives_luma_and_full_turn_is_identity() -> None:
    img = np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    grey = apply_photometric(img, PhotometricParams(saturation=0.0))
    luma = img.astype(np.float64) @ np.array(LUMA)
    assert np.abs(grey.astype(float) - luma[..., None]).max() <= 1.0
    assert np.allclose(colour_matrix(PhotometricParams(hue=1.0)), np.eye(3), atol=1e-5)
    assert np.array_equal(apply_photometric(img, PhotometricParams(hue=1.0)), img)


def test_identity_is_a_copy_and_grey_images_work() -> None:
    img = np.random.default_rng(2).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    out = apply_photometric(img, PhotometricParams())
    assert np.array_equal(out, img) and out is not img
    grey = img[:, :, 0].copy()
    jittered = apply_photometric(grey, PhotometricParams(brightness=1.2, saturation=0.5, hue=0.1))
    assert jittered.shape == grey.shape
    assert mean_luma(grey) == pytest.approx(grey.mean())


def test_sampled_factors_stay_in_documented_ranges() -> None:
    config = get_recipe("wflw", photometric=True).config
    draws = np.random.default_rng(3).random((500, 5))
    params = [sample_photometric(config, u) for u in draws.tolist()]
    for name, lo, hi in (
        ("brightness", 0.8, 1.2),
        ("contrast", 0.8, 1.2),
        ("gamma", 0.8, 1.2),
        ("saturation", 0.7, 1.3),
        ("hue", -0.05, 0.05),
    ):
        values = np.array([getattr(p, name) for p in params])
        assert values.min() >= lo and values.max() <= hi
        assert values.max() - values.min() > 0.9 * (hi - lo)  # the whole range is used
