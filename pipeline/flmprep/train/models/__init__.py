"""The landmark models, in plain torch (no torchvision), one module per family.

``registry`` lists them (input, points, seed, default loss, builder) and imports no torch;
so does ``spec`` (``ModelSpec``). The torch helpers (``build_model``, ``place``,
``pixels_to_unit``, ``unit_to_pixels``, ``decode_points``, ``prepare_images``,
``count_parameters``) load on first use, so that reading the registry stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from flmprep.train.models.registry import MODEL_NAMES, MODELS, ModelInfo, check_loss, model_info
from flmprep.train.models.spec import ModelSpec

if TYPE_CHECKING:
    from flmprep.train.models.core import (
        build_model,
        count_parameters,
        decode_points,
        pixels_to_unit,
        place,
        prepare_images,
        unit_to_pixels,
    )

_CORE = frozenset(
    {
        "build_model",
        "count_parameters",
        "decode_points",
        "pixels_to_unit",
        "place",
        "prepare_images",
        "unit_to_pixels",
    }
)

__all__ = [
    "MODELS",
    "MODEL_NAMES",
    "ModelInfo",
    "ModelSpec",
    "build_model",
    "check_loss",
    "count_parameters",
    "decode_points",
    "model_info",
    "pixels_to_unit",
    "place",
    "prepare_images",
    "unit_to_pixels",
]


def __getattr__(name: str) -> Any:
    if name in _CORE:
        return getattr(importlib.import_module("flmprep.train.models.core"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
