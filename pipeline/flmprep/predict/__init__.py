"""Landmarks on source images from a checkpoint or an ONNX model: face boxes (given, or OpenCV's
Haar cascade), the recipe's canonical crops, iterative refinement, landmarks in source pixels.

``Predictor.from_checkpoint(path)`` needs torch; ``Predictor.from_onnx(path)`` needs only
onnxruntime. Nothing here imports torch until a checkpoint is loaded or exported.
"""

from flmprep.inference.calibration import ANNOTATED, BOX_SOURCES, HAAR, LANDMARKS, BoxRelation, Calibration
from flmprep.inference.haar import HaarDetector
from flmprep.inference.spec import InputSpec
from flmprep.predict.errors import PredictError
from flmprep.predict.meta import ModelMeta
from flmprep.predict.predictor import FaceResult, Pass, Predictor, SourceImage

__all__ = [
    "ANNOTATED",
    "BOX_SOURCES",
    "HAAR",
    "LANDMARKS",
    "BoxRelation",
    "Calibration",
    "FaceResult",
    "HaarDetector",
    "InputSpec",
    "ModelMeta",
    "Pass",
    "PredictError",
    "Predictor",
    "SourceImage",
]
