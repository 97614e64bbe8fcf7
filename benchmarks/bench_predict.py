"""Per-face latency of ``flmprep predict`` on one CPU core: crop+warp, model and total, for 1 and
3 passes, for ``vanilla96`` (the seed's "under 50 ms" claim) and ``resnet18``, with torch and
with onnxruntime, all measured in the same run.

The faces are the 43 of the real dlib photos in tests/data/dlib-faces (PASCAL VOC, 300-500 px),
each from its annotated box; the models have random weights (latency does not depend on them),
the celeba recipe for vanilla96 (96×96 crops) and the wflw recipe for resnet18 (256×256), the
samples' codec JPEG q95 (each crop goes through it, as in prediction). ``torch.set_num_threads(1)``,
``cv2.setNumThreads(1)``, onnxruntime with one intra-op thread. Each face is predicted
``--rounds`` times with a fixed number of passes (no early stop); the figure is the median over
faces and rounds of the wall seconds, after one warm-up round. Decoding the photo is not counted
(``flmprep predict`` decodes each photo once, for all its faces).

Run: ``.venv/bin/python -m benchmarks.bench_predict [--rounds N]`` from the repository root.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from benchmarks._common import machine, table
from flmprep.augment import get_recipe
from flmprep.formats import read_dataset
from flmprep.inference.calibration import ANNOTATED, Calibration, extent, fit_relation
from flmprep.inference.spec import Codec
from flmprep.predict import ModelMeta, Predictor, SourceImage
from flmprep.predict.export import to_onnx_bytes
from flmprep.predict.onnx_runtime import OnnxBackend
from flmprep.predict.predictor import Backend
from flmprep.predict.torch_model import PointsModel, TorchBackend
from flmprep.records import FaceRecord
from flmprep.train.models import ModelSpec, build_model, model_info
from flmprep.train.prediction import input_spec

PHOTOS = Path(__file__).resolve().parents[1] / "tests" / "data" / "dlib-faces"
SEED_CLAIM_MS = 50.0
#: model -> (points, landmark scheme, recipe)
SETUPS = {"vanilla96": (5, "celeba5", "celeba"), "resnet18": (68, "ibug68", "wflw")}


Faces = list[tuple[SourceImage, FaceRecord]]


@dataclass(frozen=True)
class Latency:
    """Median milliseconds per face."""

    crop: float
    model: float
    total: float


def faces() -> Faces:
    """Every annotated face of the dlib photos, with its decoded image."""
    records = [r for r in read_dataset("300w", PHOTOS) if r.bbox is not None]
    images = {name: SourceImage.read(PHOTOS / name) for name in {r.image for r in records}}
    return [(images[r.image], r) for r in records]


def model_and_meta(name: str, relation_faces: Faces) -> tuple[PointsModel, ModelMeta]:
    points, scheme, recipe = SETUPS[name]
    size = model_info(name).width
    spec = ModelSpec.of(name, points, size, size)
    torch.manual_seed(0)
    model = PointsModel(build_model(spec), spec).eval()
    boxes = [r.bbox for _, r in relation_faces if r.bbox is not None]
    extents = [extent(np.asarray(r.landmarks, np.float64)) for _, r in relation_faces]
    relation = fit_relation(boxes, extents)
    assert relation is not None
    calibration = Calibration({ANNOTATED: relation})
    spec_json = {"name": name, "num_points": points}
    model_input = input_spec(spec, Codec("jpg", 95))
    meta = ModelMeta(spec_json, scheme, points, model_input, get_recipe(recipe), calibration)
    return model, meta


def measure(predictor: Predictor, data: Faces, passes: int, rounds: int) -> Latency:
    crop, model, total = [], [], []
    for round_ in range(rounds + 1):
        for image, record in data:
            assert record.bbox is not None
            face = predictor.refine(image, record.bbox, ANNOTATED, iterations=passes, tolerance=0.0)
            if round_:  # round 0 warms up
                crop.append(face.crop_seconds)
                model.append(face.model_seconds)
                total.append(face.seconds)
    return Latency(*(1000 * float(np.median(v)) for v in (crop, model, total)))


def rows_for(name: str, data: Faces, rounds: int, tmp: Path) -> list[list[str]]:
    model, meta = model_and_meta(name, data)
    onnx_path = tmp / f"{name}.onnx"
    onnx_path.write_bytes(to_onnx_bytes(model, meta))
    backends: dict[str, Backend] = {
        "torch": TorchBackend(model, threads=1),
        "onnxruntime": OnnxBackend(onnx_path, threads=1),
    }
    rows = []
    for passes in (1, 3):
        measured = {b: measure(Predictor(fn, meta), data, passes, rounds) for b, fn in backends.items()}
        for backend, lat in measured.items():
            rows.append([
                name, backend, str(passes), f"{lat.crop:.2f}", f"{lat.model:.2f}", f"{lat.total:.2f}",
                f"{lat.total / SEED_CLAIM_MS:.2f}",
                f"{lat.total / measured['torch'].total:.2f}",
            ])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="Timed rounds over the 43 faces.")
    parser.add_argument("--models", default=",".join(SETUPS), help="Comma-separated: vanilla96, resnet18.")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    data = faces()
    import onnxruntime

    print(f"Machine: {machine()}, torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, "
          f"one thread; {len(data)} faces × {args.rounds} rounds after one warm-up round")
    with tempfile.TemporaryDirectory() as tmp:
        names = [name for name in args.models.split(",") if name]
        rows = [row for name in names for row in rows_for(name, data, args.rounds, Path(tmp))]
    header = ["model", "backend", "passes", "crop+warp ms", "model ms", "total ms", "total / 50 ms",
              "total / torch"]
    table("Per-face prediction latency, one core (median ms)", header, rows)


if __name__ == "__main__":
    main()
