"""What the trainer stores in a checkpoint for ``flmprep predict`` (``Checkpoint.prediction``): the
recipe and sample codec the dataset was built with (copied from its manifest, checked by the
reader), the model's input spec, and the box calibration measured on the training split
(``--source-root`` adds the Haar detector's relation)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from flmprep.inference.calibration import calibrate, faces_from_shards
from flmprep.inference.errors import InferenceError
from flmprep.inference.spec import Codec, InputSpec
from flmprep.jsonio import parse_json
from flmprep.train.models import ModelSpec, prepare_images


def input_spec(spec: ModelSpec, codec: Codec | None = None) -> InputSpec:
    """The input the trainer feeds ``spec``'s model, read off ``models.prepare_images`` itself
    (black and white images in, their values out), so prediction normalises as training did."""
    pixels = torch.zeros((2, spec.height, spec.width, spec.channels), dtype=torch.uint8)
    pixels[1] = 255
    out = prepare_images(pixels)
    low, high = float(out[0].flatten()[0]), float(out[1].flatten()[0])
    std = 255.0 / (high - low)
    return InputSpec(int(out.shape[1]), int(out.shape[2]), int(out.shape[3]), -low * std, std, codec)


def manifest_build(root: Path) -> tuple[dict[str, Any], Codec]:
    """``{"name", "config"}`` of the recipe the dataset at ``root`` was built with, and its codec."""
    path = root / "manifest.json"
    try:
        config = parse_json(path.read_bytes())["config"]
        recipe = {"name": str(config["recipe"]), "config": dict(config["recipe_config"])}
        return recipe, Codec(str(config["image_format"]), int(config["quality"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InferenceError(
            f"{path}: expected config.recipe, recipe_config, image_format and quality, found {exc!r}"
        ) from None


def prediction_metadata(
    root: Path, train_shards: Iterable[str], spec: ModelSpec, source_root: Path | None = None
) -> dict[str, Any]:
    """The checkpoint's ``prediction`` dict for a model of ``spec`` trained on the dataset at
    ``root`` (its training shards ``train_shards``, paths relative to ``root``)."""
    faces = faces_from_shards(root, train_shards)
    recipe, codec = manifest_build(root)
    return {
        "recipe": recipe,
        "input": input_spec(spec, codec).to_json(),
        "calibration": calibrate(faces, source_root).to_json(),
    }
