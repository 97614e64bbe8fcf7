"""``Predictor``: landmarks on a source image from a checkpoint or an ONNX model.

Each face goes through up to ``iterations`` passes. Pass 1 estimates the landmark extent from
the face box (``calibration``); every later pass uses the previous pass's landmarks. Either way
the crop is the recipe's canonical view, planned by the recipe's own ``plan`` on those points
(``Recipe.plan(Face.of(record, points, size), None)``, as the builder plans test crops), warped
by ``augment.apply_plan`` from the same reduced decode and passed through the samples' codec,
so a crop from the true landmarks is byte for byte the test sample the builder writes. The
model's points go back to source pixels through the inverse of the pass's matrix. Refinement
stops early when the mean point shift falls below ``tolerance`` source pixels.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from flmprep import imageio
from flmprep.augment import ViewParams, ViewPlan, apply_plan, decode_reduce
from flmprep.augment.base import Face
from flmprep.inference.calibration import ANNOTATED, BOX_SOURCES, HAAR, extent
from flmprep.inference.haar import Box, HaarDetector
from flmprep.inference.spec import InputSpec
from flmprep.predict.errors import PredictError
from flmprep.predict.meta import ModelMeta
from flmprep.records import FaceRecord
from flmprep.schemes import Scheme, get_scheme

#: A backend maps float32 [B, C, H, W] model input to points [B, K, 2] in [-1, 1] of the input.
Backend = Callable[[np.ndarray], np.ndarray]
DEFAULT_ITERATIONS = 3
DEFAULT_TOLERANCE = 0.5
DEFAULT_MIN_FACE = 32


@dataclass(frozen=True, eq=False)
class Pass:
    """One pass over one face: the crop's ``matrix`` (source → crop, 3×3), the ``landmarks``
    [K, 2] in source pixels, their mean ``shift`` from the previous pass (None for the first),
    and the seconds spent cropping and in the model."""

    matrix: np.ndarray
    landmarks: np.ndarray
    shift: float | None
    crop_seconds: float
    model_seconds: float


@dataclass(frozen=True, eq=False)
class FaceResult:
    """One face: its index in the image, the ``box`` it started from and where that came from
    (``annotated`` = given, ``haar``, ``landmarks``), and every pass run."""

    index: int
    box: Box
    box_source: str
    passes: tuple[Pass, ...]

    @property
    def landmarks(self) -> np.ndarray:
        """Source-image pixels [K, 2] after the last pass."""
        return self.passes[-1].landmarks

    @property
    def iterations(self) -> int:
        return len(self.passes)

    @property
    def shifts(self) -> list[float]:
        """The mean point shift (source pixels) of each refinement pass."""
        return [float(p.shift) for p in self.passes[1:] if p.shift is not None]

    @property
    def crop_seconds(self) -> float:
        return sum(p.crop_seconds for p in self.passes)

    @property
    def model_seconds(self) -> float:
        return sum(p.model_seconds for p in self.passes)

    @property
    def seconds(self) -> float:
        return self.crop_seconds + self.model_seconds

    def to_json(self, image: str) -> dict[str, Any]:
        """One line of ``flmprep predict --json`` (schemas/prediction.schema.json): pixels to
        1/1000, seconds to the microsecond."""
        return {
            "schema": "flmprep.prediction/1",
            "image": image,
            "face": self.index,
            "box": [round(float(v), 3) for v in self.box],
            "box_source": self.box_source,
            "landmarks": [[round(float(x), 3), round(float(y), 3)] for x, y in self.landmarks],
            "iterations": self.iterations,
            "shifts": [round(v, 3) for v in self.shifts],
            "seconds": round(self.seconds, 6),
        }


@dataclass(eq=False)
class SourceImage:
    """An image to predict on: its ``pixels`` (uint8 H×W×3 RGB as ``imageio`` decodes it, or H×W
    grey) and, when it came from a file, the encoded ``data``, from which crops that shrink are
    warped off the same reduced decodes the shard builder uses (``augment.decode_reduce``)."""

    pixels: np.ndarray
    data: bytes | None = None
    _reduced: dict[int, np.ndarray] = field(default_factory=dict)

    @classmethod
    def read(cls, path: str | Path) -> SourceImage:
        """Decode a file (raises ``imageio.ImageError`` naming it)."""
        pixels = imageio.read_image(path).pixels
        return cls(pixels, Path(path).read_bytes())

    @classmethod
    def of(cls, image: SourceImage | np.ndarray | bytes | str | Path) -> SourceImage:
        if isinstance(image, SourceImage):
            return image
        if isinstance(image, np.ndarray):
            return cls(image)
        if isinstance(image, bytes):
            return cls(imageio.decode(image).pixels, image)
        return cls.read(image)

    @property
    def size(self) -> tuple[int, int]:
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])

    def reduced(self, factor: int) -> np.ndarray:
        """The image decoded at 1/``factor`` (``factor`` 1: ``pixels``)."""
        if factor == 1 or self.data is None:
            return self.pixels
        if factor not in self._reduced:
            self._reduced[factor] = imageio.decode(self.data, reduce=factor).pixels
        return self._reduced[factor]


def model_input(crop: np.ndarray, spec: InputSpec) -> np.ndarray:
    """float32 [1, C, H, W] from a uint8 crop (H×W grey or H×W×3 RGB), as the trainer feeds it."""
    if spec.channels == 3 and crop.ndim == 2:
        crop = np.repeat(crop[:, :, None], 3, axis=2)
    elif spec.channels == 1 and crop.ndim == 3:
        crop = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    planes = crop[None] if crop.ndim == 2 else crop.transpose(2, 0, 1)
    if planes.shape != (spec.channels, spec.height, spec.width):
        raise PredictError(
            f"model input: expected {spec.channels}×{spec.height}×{spec.width}, found crop {crop.shape} "
            "(the recipe's out_size differs from the model's input)"
        )
    x = (planes.astype(np.float32) - np.float32(spec.mean)) / np.float32(spec.std)
    return x[None]


def unit_to_crop(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """[-1, 1] → crop pixels (``models.unit_to_pixels``)."""
    size = np.array([width, height], dtype=np.float64)
    return (points.astype(np.float64) + 1.0) * size / 2.0 - 0.5


def to_source(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Crop pixels [K, 2] → source pixels through the inverse of the 3×3 source → crop matrix."""
    inverse = np.linalg.inv(matrix)
    return points @ inverse[:2, :2].T + inverse[:2, 2]


def as_boxes(box: Box | Sequence[Box] | np.ndarray) -> list[Box]:
    """One box or several, each (left, top, right, bottom) finite with right >= left, bottom >= top."""
    arr = np.asarray(box, dtype=np.float64)
    if arr.ndim not in (1, 2) or arr.shape[-1] != 4:
        raise PredictError(
            f"box: expected [left, top, right, bottom] or a list of them, found shape {arr.shape}"
        )
    boxes = arr.reshape(-1, 4)
    for b in boxes:
        if not np.isfinite(b).all() or b[2] < b[0] or b[3] < b[1]:
            raise PredictError(
                f"box: expected finite [left, top, right, bottom] with right >= left, "
                f"bottom >= top, found {b.tolist()}"
            )
    return [(float(b[0]), float(b[1]), float(b[2]), float(b[3])) for b in boxes]


class Predictor:
    """Landmarks in source-image pixels for every face of an image."""

    def __init__(
        self,
        backend: Backend,
        meta: ModelMeta,
        *,
        iterations: int = DEFAULT_ITERATIONS,
        tolerance: float = DEFAULT_TOLERANCE,
        min_face: int = DEFAULT_MIN_FACE,
    ) -> None:
        if iterations < 1 or not tolerance >= 0:
            raise PredictError(
                f"expected iterations >= 1 and tolerance >= 0, found {iterations}, {tolerance}"
            )
        self.backend, self.meta = backend, meta
        self.iterations, self.tolerance = iterations, tolerance
        self.detector: HaarDetector = meta.calibration.detector_for(min_face)
        self.scheme: Scheme = get_scheme(meta.scheme)

    @classmethod
    def from_checkpoint(cls, path: str | Path, *, threads: int = 0, **options: Any) -> Predictor:
        """From a training checkpoint (needs torch); ``threads`` > 0 sets torch's thread count."""
        from flmprep.predict.torch_model import TorchBackend, load

        model, meta = load(path)
        return cls(TorchBackend(model, threads=threads), meta, **options)

    @classmethod
    def from_onnx(cls, path: str | Path, *, threads: int = 0, **options: Any) -> Predictor:
        """From ``flmprep export --onnx`` output (onnxruntime only; no torch)."""
        from flmprep.predict.onnx_runtime import OnnxBackend

        backend = OnnxBackend(path, threads=threads)
        return cls(backend, backend.meta, **options)

    def detect(self, pixels: np.ndarray) -> list[Box]:
        """Haar face boxes, largest first."""
        return self.detector.detect(pixels)

    def predict(
        self,
        image: SourceImage | np.ndarray | bytes | str | Path,
        box: Box | Sequence[Box] | None = None,
        *,
        source: str | None = None,
    ) -> list[FaceResult]:
        """Every face of ``image`` (a file, its bytes, or uint8 H×W×3 RGB / H×W grey pixels of
        the stored grid, EXIF orientation not applied): in ``box`` (one box or a list; box
        source ``annotated`` by default) or, without boxes, in the Haar detector's boxes."""
        src = SourceImage.of(image)
        if box is None:
            boxes, source = self.detect(src.pixels), source or HAAR
        else:
            boxes, source = as_boxes(box), source or ANNOTATED
        return [self.refine(src, b, source, index=i) for i, b in enumerate(boxes)]

    def refine(
        self,
        image: SourceImage | np.ndarray,
        box: Box,
        source: str,
        *,
        index: int = 0,
        iterations: int | None = None,
        tolerance: float | None = None,
    ) -> FaceResult:
        """The passes over the face in ``box`` (from ``source``, one of ``BOX_SOURCES``)."""
        if source not in BOX_SOURCES:
            raise PredictError(f"box source: expected one of {', '.join(BOX_SOURCES)}, found {source!r}")
        todo = self.iterations if iterations is None else iterations
        tol = self.tolerance if tolerance is None else tolerance
        calibration = self.meta.calibration
        ext = calibration.extent_from_box(box, source)
        points = np.array([[ext[0], ext[1]], [ext[2], ext[3]]], dtype=np.float64)
        bbox = box if source == ANNOTATED else calibration.training_box(ext)
        src = SourceImage.of(image)
        passes: list[Pass] = []
        while len(passes) < todo:
            done = self._pass(src, points, bbox, passes[-1].landmarks if passes else None)
            passes.append(done)
            points = done.landmarks
            bbox = calibration.training_box(extent(points))
            if done.shift is not None and done.shift < tol:
                break
        return FaceResult(index, box, source, tuple(passes))

    def crop(self, image: SourceImage, points: np.ndarray, bbox: Box | None) -> tuple[ViewParams, np.ndarray]:
        """The recipe's canonical crop of the face with landmarks (or extent corners) ``points``
        and training-style box ``bbox``, as the builder makes a test sample: its parameters and
        the uint8 pixels the model sees (through the samples' codec when it is lossy)."""
        recipe, size = self.meta.recipe, image.size
        pts = np.clip(points, -0.5, [size[0] - 0.5, size[1] - 0.5])
        record = FaceRecord("predict", "", "test", "", 0, self.meta.scheme, pts.astype(np.float32), bbox)
        plan = ViewPlan(0, 0, recipe.plan(Face.of(record, pts, size), None), None)
        factor = decode_reduce(recipe, [plan]) if image.data is not None else 1
        view = apply_plan(recipe, image.reduced(factor), record, pts, plan, reduce=factor)
        codec = self.meta.input.codec
        if codec is None or not codec.lossy:
            return plan.params, view.pixels
        return plan.params, imageio.decode(imageio.encode(view.image, codec.format, codec.quality)).pixels

    def _pass(
        self, image: SourceImage, points: np.ndarray, bbox: Box | None, previous: np.ndarray | None
    ) -> Pass:
        began = time.perf_counter()
        params, crop = self.crop(image, points, bbox)
        x = model_input(crop, self.meta.input)
        cropped = time.perf_counter()
        unit = self.backend(x)[0]
        modelled = time.perf_counter()
        matrix = params.matrix()
        spec = self.meta.input
        landmarks = to_source(unit_to_crop(unit, spec.width, spec.height), matrix)
        shift = None if previous is None else float(np.linalg.norm(landmarks - previous, axis=1).mean())
        return Pass(matrix, landmarks, shift, cropped - began, modelled - cropped)
