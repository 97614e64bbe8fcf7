"""The model table of ``flmprep models``: every registry entry, built, with its parameter count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flmprep.train.models.core import build_model, count_parameters
from flmprep.train.models.registry import DEFAULT_PASSES, LISTED_COMPONENTS, MODELS, ModelInfo
from flmprep.train.models.spec import ModelSpec


@dataclass(frozen=True)
class ModelRow:
    """One model as listed: its registry entry, the K it was built for, its parameters."""

    info: ModelInfo
    points: int
    parameters: int
    note: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.info.name,
            "input": list(self.info.input),
            "points": self.points,
            "parameters": self.parameters,
            "seed": self.info.seed,
            "loss": self.info.loss,
            "kind": self.info.kind,
            "summary": self.info.summary,
            "note": self.note,
        }


def listed_spec(info: ModelInfo, points: int) -> ModelSpec:
    """The spec a model is listed with: its input size, ``points``, default passes, and
    ``LISTED_COMPONENTS`` PCA components for shapenet (training fits the count to the data)."""
    components = LISTED_COMPONENTS if info.name == "shapenet" else 0
    passes = DEFAULT_PASSES if info.kind == "cascade" else 0
    return ModelSpec.of(info.name, points, info.width, info.height, passes=passes, components=components)


def model_rows(points: int | None = None) -> list[ModelRow]:
    """Every model built at its input size for ``points`` (default: the model's own K)."""
    rows = []
    for info in MODELS.values():
        k = points or info.points
        spec = listed_spec(info, k)
        note = ""
        if spec.components:
            note = f"with {spec.components} PCA components (fitted to the data when training)"
        rows.append(ModelRow(info, k, count_parameters(build_model(spec)), note))
    return rows
