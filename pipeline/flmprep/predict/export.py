"""``flmprep export CKPT --onnx MODEL.onnx``: a checkpoint's model with its output decoded to
points in [-1, 1] of the input (``torch_model.PointsModel``), a dynamic batch dimension, and the
``ModelMeta`` (spec, scheme, input size, channels, normalisation, recipe, calibration) as the
metadata property ``flmprep``.

Uses torch's TorchScript-based exporter (``dynamo=False``), which needs only ``onnx``; the
dynamo exporter would also need onnxscript.
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from pathlib import Path

import torch

from flmprep.atomic import write_atomic
from flmprep.predict.errors import PredictError
from flmprep.predict.meta import ONNX_KEY, ModelMeta
from flmprep.predict.onnx_runtime import INPUT, OUTPUT
from flmprep.predict.torch_model import PointsModel, load

log = logging.getLogger(__name__)
OPSET = 17


def to_onnx_bytes(model: PointsModel, meta: ModelMeta) -> bytes:
    """The serialised ONNX model of ``model`` with ``meta`` in its metadata."""
    try:
        import onnx
    except ImportError:
        raise PredictError(
            "onnx: expected it installed for export, found none (pip install 'flmprep[onnx]')"
        ) from None
    spec = meta.input
    example = torch.zeros((2, spec.channels, spec.height, spec.width), dtype=torch.float32)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(
            model.eval(),
            (example,),
            buffer,  # type: ignore[arg-type]
            dynamo=False,
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
            opset_version=OPSET,
        )
    proto = onnx.load_from_string(buffer.getvalue())
    entry = proto.metadata_props.add()
    entry.key, entry.value = ONNX_KEY, json.dumps(meta.to_json(), sort_keys=True)
    proto.producer_name = "flmprep"
    onnx.checker.check_model(proto)
    data: bytes = proto.SerializeToString()
    return data


def export_onnx(checkpoint: str | Path, out: str | Path) -> ModelMeta:
    """Write the checkpoint's model to ``out`` (atomically); returns the metadata stored."""
    model, meta = load(checkpoint)
    write_atomic(Path(out), to_onnx_bytes(model, meta))
    log.info("wrote %s (%s, %d points, input %s)", out, meta.model, meta.num_points, meta.input)
    return meta
