"""What the trainer stores in a checkpoint for prediction (``Checkpoint.prediction``): the
dataset's recipe and sample codec from its manifest, the model's input spec, and the box
calibration measured on the training split (``--source-root`` adds the Haar detector's relation)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from flmprep.predict.calibration import calibrate, faces_from_shards
from flmprep.predict.errors import PredictError
from flmprep.predict.meta import Codec, recipe_from_json
from flmprep.predict.torch_model import input_spec
from flmprep.train.models import ModelSpec


def manifest_build(root: Path) -> tuple[dict[str, Any], Codec]:
    """``{"name", "config"}`` of the recipe the dataset at ``root`` was built with, and its codec."""
    path = root / "manifest.json"
    try:
        config = json.loads(path.read_text("utf-8"))["config"]
        doc = {"name": config["recipe"], "config": config["recipe_config"]}
        codec = Codec(str(config["image_format"]), int(config["quality"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PredictError(
            f"{path}: expected config.recipe, recipe_config, image_format and quality, found {exc!r}"
        ) from None
    recipe_from_json(doc, f"{path}: config")
    return doc, codec


def prediction_metadata(
    root: Path, train_shards: Iterable[str], spec: ModelSpec, source_root: Path | None = None
) -> dict[str, Any]:
    """The checkpoint's ``prediction`` dict for a model of ``spec`` trained on the dataset at
    ``root`` (its training shards ``train_shards``, paths relative to ``root``)."""
    faces = faces_from_shards(root, train_shards)
    recipe, codec = manifest_build(root)
    return {
        "recipe": recipe,
        "input": replace(input_spec(spec), codec=codec).to_json(),
        "calibration": calibrate(faces, source_root).to_json(),
    }
