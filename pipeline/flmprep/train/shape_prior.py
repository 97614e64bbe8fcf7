"""The data-fitted part of ``shapenet``: its PCA shape model, from the training split's landmarks.

Reads only the samples' JSON (no image decoding): every view's landmarks in output pixels.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
from torch import nn

from flmprep.data.built import BuiltDataset, DataError, readable_samples
from flmprep.train.models import ModelSpec, build_model
from flmprep.train.models.shapenet import ShapeNet, fit_shape_model

log = logging.getLogger(__name__)


def split_landmarks(manifest: BuiltDataset, split: str) -> np.ndarray:
    """Every sample's landmarks [N, K, 2] (output pixels) of ``split``, in manifest order."""
    shapes = []
    for raw, doc in readable_samples(manifest, split):
        try:
            shapes.append(np.asarray(doc["landmarks"], dtype=np.float64).reshape(-1, 2))
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("shapenet: skipped %s.json: expected landmarks [[x, y], ...]: %s", raw.where, exc)
    if not shapes:
        raise DataError(f"split {split!r}: expected samples with landmarks to fit the shape model, "
                        "found none")
    return np.stack(shapes)


def shapenet_model(
    spec: ModelSpec, manifest: BuiltDataset, split: str, variance: float
) -> tuple[ModelSpec, nn.Module]:
    """``spec`` with its component count, and the model with the PCA of ``split`` loaded."""
    shape = fit_shape_model(split_landmarks(manifest, split), variance)
    spec = replace(spec, components=len(shape.std))
    model = build_model(spec)
    assert isinstance(model, ShapeNet)
    model.shape.load_shape_model(shape)
    log.info(
        "shapenet: %d PCA components explain %.4f of the %s landmarks' variance",
        spec.components, shape.explained, split,
    )
    return spec, model
