"""The sample codec: one rendered view → its tar members (image, canonical JSON, optional heatmaps).

JSON is canonical (sorted keys, no spaces, UTF-8, floats as their shortest round-trip digits,
written by orjson, several times faster than ``json``); landmarks and bbox are rounded
to 4 decimals, the transform keeps full float64 precision (-0.0 written as 0.0), so the bytes
depend only on the values.

``flmprep.sample/2`` gives every field one JSON type in every sample of every split (what
column stores such as Arrow, parquet and Hugging Face ``datasets`` need): no nulls, no empty
objects, the 64-bit view seed as a decimal string, ``augment.photometric`` always an object,
``source.bbox`` always a box (with ``source.bbox_kind`` saying where it comes from) and
``attributes`` always the dataset's attribute names (``{"none": true}`` for a dataset without
any). Readers accept ``/1`` samples too (``SAMPLE_SCHEMAS``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from flmprep import imageio, targets
from flmprep.records import FaceRecord

if TYPE_CHECKING:
    from flmprep.augment import View

SAMPLE_SCHEMA = "flmprep.sample/2"
#: Every sample format readers accept (verify, inspect, the data API and the trainer).
SAMPLE_SCHEMAS = ("flmprep.sample/1", SAMPLE_SCHEMA)
#: ``attributes`` of a sample whose dataset has no attributes: Arrow and parquet cannot store
#: an object without fields, and a key present in every sample keeps one column type.
NO_ATTRIBUTES = {"none": True}
#: The value of a declared attribute the record's annotation does not give (e.g. WFLW's
#: subset lists carry no flags).
UNKNOWN_ATTRIBUTE = -1
HEATMAP_MEMBER = "hm.png"
DECIMALS = 4


@dataclass(frozen=True)
class SampleCodec:
    """How samples are encoded: image codec and quality, and the optional heatmap member."""

    image_format: str = "jpg"
    quality: int = 95
    heatmaps: bool = False
    heatmap_size: tuple[int, int] = (64, 64)
    sigma: float = 2.5
    #: The dataset's attribute names (``formats.attribute_names``): the keys of ``attributes``.
    attributes: tuple[str, ...] = ()


def _rounded(values: np.ndarray) -> np.ndarray:
    """Round to ``DECIMALS`` (``rint(x * 1e4) / 1e4``, so the repr is short); -0.0 becomes 0.0."""
    return np.round(np.asarray(values, dtype=np.float64), DECIMALS) + 0.0


def _points(points: np.ndarray) -> list[list[float]]:
    out: list[list[float]] = _rounded(points).reshape(-1, 2).tolist()
    return out


def _bbox(points: list[list[float]]) -> list[float]:
    """Extent of the (already rounded) points; rounding commutes with min and max."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return [min(xs), min(ys), max(xs), max(ys)]


def _finite(value: Any, where: str) -> None:
    """Raise ValueError on NaN or infinity anywhere in ``value``."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: expected finite numbers (JSON has no NaN), found {value!r}")
    elif isinstance(value, dict):
        for k, v in value.items():
            _finite(v, f"{where}.{k}")
    elif isinstance(value, list | tuple):
        for v in value:
            _finite(v, where)


def dumps(doc: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no spaces, UTF-8; NaN and infinity are refused.
    orjson writes them as null, and a sample holds no null by design, so any null has the
    values checked."""
    try:
        data = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:  # an integer beyond 64 bits, a type JSON does not have
        raise ValueError(f"sample JSON: {exc}") from exc
    if b"null" in data:
        _finite(doc, "sample")
    return data


def attributes_field(record: FaceRecord, names: tuple[str, ...]) -> dict[str, Any]:
    """``attributes``: every declared name with the record's value (``UNKNOWN_ATTRIBUTE`` when
    its annotation has none), or ``NO_ATTRIBUTES`` for a dataset without attribute names."""
    if not names:
        return dict(NO_ATTRIBUTES)
    return {name: record.attributes.get(name, UNKNOWN_ATTRIBUTE) for name in names}


def real_attributes(attributes: dict[str, Any] | None) -> dict[str, Any]:
    """A sample's attributes without the ``NO_ATTRIBUTES`` placeholder (``/1`` or ``/2``)."""
    if not attributes or attributes == NO_ATTRIBUTES:
        return {}
    return dict(attributes)


def sample_doc(
    key: str,
    record: FaceRecord,
    split: str,
    source_size: tuple[int, int],
    view: View,
    image: dict[str, Any],
    heatmap: dict[str, Any] | None,
    attributes: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The ``KEY.json`` object of one sample (see docs/architecture.md, "Sample format");
    ``attributes`` are the dataset's attribute names."""
    matrix = np.asarray(view.matrix, dtype=np.float64)
    landmarks = _points(view.landmarks)
    doc: dict[str, Any] = {
        "schema": SAMPLE_SCHEMA,
        "key": key,
        "dataset": record.dataset,
        "split": split,
        "scheme": record.scheme,
        "image": image,
        "landmarks": landmarks,
        "visible": np.asarray(view.visible, dtype=bool).reshape(-1).tolist(),
        "bbox": _bbox(landmarks),
        "source": _source(record, source_size),
        "transform": (matrix[:2, :3] + 0.0).tolist(),
        "augment": view.augment,
        "attributes": attributes_field(record, attributes),
    }
    if heatmap is not None:
        doc["heatmap"] = heatmap
    return doc


def landmarks_box(points: np.ndarray) -> list[float]:
    """The extent of the source landmarks, rounded like every box: a face box for records whose
    annotation has none."""
    return _bbox(_points(points))


def _source(record: FaceRecord, source_size: tuple[int, int]) -> dict[str, Any]:
    """``source``: ``bbox`` is the annotated face box, else the landmarks' extent, and
    ``bbox_kind`` says which ("annotation" or "landmarks")."""
    box = landmarks_box(record.landmarks) if record.bbox is None else [float(v) for v in record.bbox]
    return {
        "image": record.image,
        "face": int(record.face),
        "width": int(source_size[0]),
        "height": int(source_size[1]),
        "record": record.key,
        "bbox": box,
        "bbox_kind": "landmarks" if record.bbox is None else "annotation",
    }


def encode_heatmaps(
    view: View, out_size: tuple[int, int], codec: SampleCodec
) -> tuple[bytes, dict[str, Any]]:
    """The ``KEY.hm.png`` bytes and the JSON ``heatmap`` field for a view."""
    pts = targets.to_heatmap_coords(view.landmarks, out_size, codec.heatmap_size)
    maps = targets.render_heatmaps(pts, view.visible, codec.heatmap_size, codec.sigma)
    cols, rows = targets.tile_grid(maps.shape[0])
    doc = {"member": HEATMAP_MEMBER, "size": list(codec.heatmap_size), "sigma": float(codec.sigma),
           "tiles": [cols, rows]}
    return targets.encode_heatmaps_png(maps), doc


def encode_sample(
    key: str,
    record: FaceRecord,
    split: str,
    source_size: tuple[int, int],
    view: View,
    codec: SampleCodec,
) -> list[tuple[str, bytes]]:
    """The members of one sample as (name, bytes), sorted by name."""
    pixels = np.asarray(view.image)
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 or pixels.shape[2] == 1 else 3
    image = {"format": codec.image_format, "width": int(width), "height": int(height), "channels": channels}
    members = [(f"{key}.{codec.image_format}", imageio.encode(pixels, codec.image_format, codec.quality))]
    heatmap = None
    if codec.heatmaps:
        png, heatmap = encode_heatmaps(view, (int(width), int(height)), codec)
        members.append((f"{key}.{HEATMAP_MEMBER}", png))
    doc = sample_doc(key, record, split, source_size, view, image, heatmap, codec.attributes)
    members.append((f"{key}.json", dumps(doc)))
    return sorted(members)
