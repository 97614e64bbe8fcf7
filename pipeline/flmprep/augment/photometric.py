"""Photometric jitter at output size: brightness, contrast and gamma as one 256-entry lookup
table, saturation and hue as one 3×3 colour matrix (chroma scaled and rotated in YIQ).

Ranges (``RecipeConfig``): brightness and contrast factors 1 ± 0.2, gamma 1 ± 0.2, saturation
1 ± 0.3, hue ± 0.05 turns (± 18°). Cost: two passes of cv2 over uint8 pixels; no float image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from flmprep.augment.config import RecipeConfig
from flmprep.augment.params import PhotometricParams

#: BT.601 luma weights (also cv2's RGB → grey) and the YIQ chroma rows.
LUMA = (0.299, 0.587, 0.114)
_YIQ = np.array([LUMA, (0.596, -0.274, -0.322), (0.211, -0.523, 0.312)], dtype=np.float64)
_YIQ_INV = np.linalg.inv(_YIQ)
_LEVELS = np.arange(256, dtype=np.float64) / 255.0


def sample_photometric(config: RecipeConfig, u: Sequence[float]) -> PhotometricParams:
    """Factors from five uniforms in [0, 1): each drawn uniformly from its documented range."""
    v = [2.0 * float(x) - 1.0 for x in u[:5]]
    return PhotometricParams(
        brightness=1.0 + config.brightness * v[0],
        contrast=1.0 + config.contrast * v[1],
        gamma=1.0 + config.gamma * v[2],
        saturation=1.0 + config.saturation * v[3],
        hue=config.hue * v[4],
    )


def mean_luma(pixels: np.ndarray) -> float:
    """Mean BT.601 luma of an RGB or single-channel uint8 image, in 0..255."""
    means = cv2.mean(pixels)
    if pixels.ndim == 2 or pixels.shape[2] == 1:
        return float(means[0])
    return LUMA[0] * means[0] + LUMA[1] * means[1] + LUMA[2] * means[2]


def tone_lut(p: PhotometricParams, luma: float) -> np.ndarray:
    """The 256-entry table ``floor(255 * clip(v*b*c + m*(1 - c)) ** g + 0.5)``, i.e. brightness
    ``b``, then contrast ``c`` about ``m = b * luma``, then gamma ``g`` (levels ``v`` in [0, 1])."""
    m = p.brightness * luma / 255.0
    x = _LEVELS * (p.brightness * p.contrast) + m * (1.0 - p.contrast)
    np.maximum(x, 0.0, out=x)
    np.minimum(x, 1.0, out=x)
    if p.gamma != 1.0:
        x **= p.gamma
    x *= 255.0
    x += 0.5
    return x.astype(np.uint8)  # truncation of non-negative values = floor


def colour_matrix(p: PhotometricParams) -> np.ndarray:
    """RGB → RGB matrix scaling chroma by ``saturation`` and rotating it by ``hue`` turns;
    grey pixels stay grey."""
    a = 2.0 * math.pi * p.hue
    c, s = p.saturation * math.cos(a), p.saturation * math.sin(a)
    chroma = np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    return (_YIQ_INV @ chroma @ _YIQ).astype(np.float32)


def apply_photometric(pixels: np.ndarray, p: PhotometricParams) -> np.ndarray:
    """Jittered copy of uint8 RGB (H×W×3) or grey (H×W) pixels; identity steps are skipped."""
    out = pixels
    if (p.brightness, p.contrast, p.gamma) != (1.0, 1.0, 1.0):
        out = cv2.LUT(out, tone_lut(p, mean_luma(out)))
    if out.ndim == 3 and out.shape[2] == 3 and (p.saturation, p.hue) != (1.0, 0.0):
        out = cv2.transform(out, colour_matrix(p))
    return out if out is not pixels else pixels.copy()
