"""What prediction needs to know about a model, whether it comes from a checkpoint or an ONNX file:
the model spec, the landmark scheme, the input (channels, size, normalisation), the recipe its
training crops came from, and the box calibration.

A checkpoint stores the last three under its ``prediction`` key (``prediction_fields``); an ONNX
export stores the whole ``ModelMeta.to_json()`` as the metadata property ``flmprep``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flmprep.augment import Recipe, get_recipe
from flmprep.augment.config import USED_FIELDS
from flmprep.errors import ConfigError
from flmprep.inference.calibration import Calibration
from flmprep.inference.spec import InputSpec
from flmprep.predict.errors import PredictError

SCHEMA = "flmprep.model/1"
#: The keys a checkpoint's ``prediction`` dict must hold.
PREDICTION_KEYS = ("recipe", "input", "calibration")
#: The ONNX metadata property holding ``ModelMeta.to_json()``.
ONNX_KEY = "flmprep"


def recipe_from_json(doc: Any, where: str) -> Recipe:
    """The recipe a ``Recipe.to_json()`` dict describes, checked to resolve to the same config."""
    if not isinstance(doc, dict) or "name" not in doc or not isinstance(doc.get("config"), dict):
        raise PredictError(
            f"{where}: expected {{name, config}} as the build manifest records, found {doc!r:.120}"
        )
    name, config = str(doc["name"]), doc["config"]
    try:
        preset = get_recipe(name).to_json()["config"]
        changed = {k: v for k, v in config.items() if k in USED_FIELDS[name] and preset.get(k) != v}
        recipe = get_recipe(name, **changed)
    except ConfigError as exc:
        raise PredictError(f"{where}: {exc}") from None
    if recipe.to_json()["config"] != config:
        raise PredictError(
            f"{where}: expected the config recipe {name!r} resolves to, found {config!r:.160} "
            "(written by another flmprep version?)"
        )
    return recipe


@dataclass(frozen=True, eq=False)
class ModelMeta:
    """Everything prediction needs besides the weights."""

    spec: dict[str, Any]
    scheme: str
    num_points: int
    input: InputSpec
    recipe: Recipe
    calibration: Calibration

    @property
    def model(self) -> str:
        return str(self.spec.get("name", ""))

    def prediction_fields(self) -> dict[str, Any]:
        """The checkpoint's ``prediction`` dict."""
        return {
            "recipe": self.recipe.to_json(),
            "input": self.input.to_json(),
            "calibration": self.calibration.to_json(),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "model": self.model,
            "spec": dict(self.spec),
            "scheme": self.scheme,
            "points": self.num_points,
            "output": {"name": "points", "shape": ["batch", self.num_points, 2], "coordinates": "unit"},
            **self.prediction_fields(),
        }

    @classmethod
    def from_parts(cls, spec: dict[str, Any], scheme: str, prediction: Any, where: str) -> ModelMeta:
        """From a checkpoint's spec, scheme and ``prediction`` dict; names what is missing."""
        have = prediction if isinstance(prediction, dict) else {}
        missing = [k for k in PREDICTION_KEYS if k not in have]
        if missing:
            raise PredictError(
                f"{where}: expected prediction metadata ({', '.join(PREDICTION_KEYS)}), found no "
                f"{', '.join(missing)}: the file was written before `flmprep predict` existed; "
                "train the model again with this version"
            )
        return cls(
            spec=dict(spec),
            scheme=scheme,
            num_points=int(spec.get("num_points", 0)),
            input=InputSpec.from_json(have["input"], f"{where}: prediction.input"),
            recipe=recipe_from_json(have["recipe"], f"{where}: prediction.recipe"),
            calibration=Calibration.from_json(have["calibration"], f"{where}: prediction.calibration"),
        )

    @classmethod
    def from_json(cls, doc: Any, where: str) -> ModelMeta:
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            found = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
            raise PredictError(f"{where}: expected model metadata {SCHEMA!r}, found {found!r}")
        for key in ("spec", "scheme"):
            if key not in doc:
                raise PredictError(f"{where}: expected key {key!r}, found keys {sorted(doc)}")
        return cls.from_parts(doc["spec"], str(doc["scheme"]), doc, where)
