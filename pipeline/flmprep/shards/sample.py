"""The sample codec: one rendered view → its tar members (image, canonical JSON, optional heatmaps).

JSON is canonical (sorted keys, no spaces, UTF-8); landmarks and bbox are rounded to 4
decimals, the transform keeps full float64 precision (-0.0 written as 0.0), so the bytes depend
only on the values. ``sample_doc`` + ``dumps`` is the definition; ``SampleJson`` writes the same
bytes ~3× faster by serialising the fields shared by a record's views once.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from flmprep import imageio, targets
from flmprep.records import FaceRecord

if TYPE_CHECKING:
    from flmprep.augment import View

SAMPLE_SCHEMA = "flmprep.sample/1"
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


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def dumps(doc: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, ``(",", ":")`` separators, no NaN)."""
    return _ENCODER.encode(doc).encode()


def sample_doc(
    key: str,
    record: FaceRecord,
    split: str,
    source_size: tuple[int, int],
    view: View,
    image: dict[str, Any],
    heatmap: dict[str, Any] | None,
) -> dict[str, Any]:
    """The ``KEY.json`` object of one sample (see docs/architecture.md, "Sample format")."""
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
        "attributes": dict(record.attributes),
    }
    if heatmap is not None:
        doc["heatmap"] = heatmap
    return doc


def _source(record: FaceRecord, source_size: tuple[int, int]) -> dict[str, Any]:
    return {
        "image": record.image,
        "face": int(record.face),
        "width": int(source_size[0]),
        "height": int(source_size[1]),
        "record": record.key,
        "bbox": None if record.bbox is None else [float(v) for v in record.bbox],
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


_json = _ENCODER.encode


def _float_list(values: list[float]) -> str:
    """A flat list of finite floats as ``json`` writes it (``float.__repr__``)."""
    return "[" + ",".join(map(float.__repr__, values)) + "]"


_BOOL = ("false", "true")
class SampleJson:
    """``dumps(sample_doc(...))``, byte for byte, at a third of the cost: the fields every view
    of a record shares (attributes, dataset, heatmap, image, schema, scheme, source, split) are
    serialised once per record, the keys are written in their sorted order, and floats by
    ``float.__repr__`` as ``json`` does. Non-finite values fall back to ``dumps``, which
    refuses them."""

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._parts: tuple[str, str, str] = ("", "", "")

    def _shared(self, record: FaceRecord, split: str, source_size: tuple[int, int],
                image: dict[str, Any], heatmap: dict[str, Any] | None) -> tuple[str, str, str]:
        cached = self._key
        if (cached is None or cached[0] is not record or cached[1] != split or cached[2] != source_size
                or cached[3] != image or cached[4] != heatmap):
            middle = f',"dataset":{_json(record.dataset)}'
            if heatmap is not None:
                middle += f',"heatmap":{_json(heatmap)}'
            middle += f',"image":{_json(image)},"key":'
            tail = (f',"schema":{_json(SAMPLE_SCHEMA)},"scheme":{_json(record.scheme)}'
                    f',"source":{_json(_source(record, source_size))},"split":{_json(split)},"transform":')
            self._parts = ('{"attributes":' + _json(dict(record.attributes)) + ',"augment":', middle, tail)
            self._key = (record, split, source_size, image, heatmap)
        return self._parts

    def encode(self, key: str, record: FaceRecord, split: str, source_size: tuple[int, int], view: View,
               image: dict[str, Any], heatmap: dict[str, Any] | None) -> bytes:
        head, middle, tail = self._shared(record, split, source_size, image, heatmap)
        flat: list[float] = _rounded(view.landmarks).ravel().tolist()
        transform = (np.asarray(view.matrix, dtype=np.float64)[:2, :3] + 0.0).ravel().tolist()
        if not all(map(math.isfinite, flat)) or not all(map(math.isfinite, transform)):
            return dumps(sample_doc(key, record, split, source_size, view, image, heatmap))
        xs, ys = flat[0::2], flat[1::2]
        visible = np.asarray(view.visible, dtype=bool).ravel().tolist()
        text = "".join((
            head, _json(view.augment),
            ',"bbox":[', float.__repr__(min(xs)), ",", float.__repr__(min(ys)), ",",
            float.__repr__(max(xs)), ",", float.__repr__(max(ys)),
            "]", middle, _json(key),
            ',"landmarks":[', ",".join([f"[{x!r},{y!r}]" for x, y in zip(xs, ys, strict=True)]),
            "]", tail, "[", _float_list(transform[:3]), ",", _float_list(transform[3:]), "]",
            ',"visible":[', ",".join([_BOOL[v] for v in visible]),
            "]}",
        ))
        return text.encode()


def encode_sample(
    key: str,
    record: FaceRecord,
    split: str,
    source_size: tuple[int, int],
    view: View,
    codec: SampleCodec,
    writer: SampleJson | None = None,
) -> list[tuple[str, bytes]]:
    """The members of one sample as (name, bytes), sorted by name. Pass one ``writer`` to the
    views of a record in turn to share its JSON work."""
    pixels = np.asarray(view.image)
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 or pixels.shape[2] == 1 else 3
    image = {"format": codec.image_format, "width": int(width), "height": int(height), "channels": channels}
    members = [(f"{key}.{codec.image_format}", imageio.encode(pixels, codec.image_format, codec.quality))]
    heatmap = None
    if codec.heatmaps:
        png, heatmap = encode_heatmaps(view, (int(width), int(height)), codec)
        members.append((f"{key}.{HEATMAP_MEMBER}", png))
    doc = (writer or SampleJson()).encode(key, record, split, source_size, view, image, heatmap)
    members.append((f"{key}.json", doc))
    return sorted(members)
