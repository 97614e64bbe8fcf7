"""Run an ``flmprep export --onnx`` model with onnxruntime alone (no torch, no checkpoint): the
model metadata comes from the file's ``flmprep`` metadata property."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from flmprep.predict.errors import PredictError
from flmprep.predict.meta import ONNX_KEY, ModelMeta

INPUT, OUTPUT = "image", "points"


def _runtime():  # type: ignore[no-untyped-def]
    try:
        import onnxruntime
    except ImportError:
        raise PredictError(
            "onnxruntime: expected it installed for --onnx, found none (pip install 'flmprep[onnx]')"
        ) from None
    return onnxruntime


class OnnxBackend:
    """An onnxruntime CPU session over an exported model; ``threads`` 0 = onnxruntime's default."""

    name = "onnxruntime"

    def __init__(self, path: str | Path, threads: int = 0) -> None:
        ort = _runtime()
        path = Path(path)
        if not path.is_file():
            raise PredictError(f"{path}: expected an ONNX model file, found none")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for every bad file
            raise PredictError(
                f"{path}: expected an ONNX model, found one onnxruntime refuses: {exc}"
            ) from None
        props = self.session.get_modelmeta().custom_metadata_map
        if ONNX_KEY not in props:
            raise PredictError(
                f"{path}: expected metadata property {ONNX_KEY!r} (written by `flmprep export --onnx`), "
                f"found {sorted(props) or 'none'}"
            )
        self.meta = ModelMeta.from_json(json.loads(props[ONNX_KEY]), f"{path}: metadata {ONNX_KEY}")

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.session.run([OUTPUT], {INPUT: np.ascontiguousarray(batch, dtype=np.float32)})[
            0
        ]
        return out
