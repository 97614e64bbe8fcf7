"""``--to mds``: one MosaicML Streaming (MDS v2) dataset per split, ``DEST/<split>/``
(``index.json`` and ``shard.NNNNN.mds``), readable with ``streaming.StreamingDataset``.

The files are written here, from the MDS format (no mosaicml-streaming needed to export, every
file atomic, the index last): a shard is ``uint32 n``, ``uint32 offsets[n + 1]`` (each sample's
byte offset in the file), the shard's config JSON, then the samples; a sample is the ``uint32``
sizes of its variable-size columns, then every column's bytes, columns in name order.

Columns: ``image`` and ``heatmaps`` (when the build has them) ``bytes`` (the shard's encoded
bytes, never re-encoded), ``image_format``, ``json`` (the sample JSON text as stored) and ``key``
``str``, ``landmarks`` ``ndarray:float32:K,2``, ``visible`` ``ndarray:uint8:K``, ``transform``
``ndarray:float64:2,3``. Each shard's sha256 is in the index (``validate_hash='sha256'``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from flmprep.atomic import write_atomic
from flmprep.export.common import CHUNK_BYTES, ExportContext, SplitExport, Target, record_fields
from flmprep.export.source import ExportError, ExportSample

INDEX_FILE = "index.json"
HASH = "sha256"


def columns(k: int, heatmaps: bool) -> dict[str, str]:
    """Column name -> MDS encoding for a build with K landmarks."""
    cols = {"key": "str", "image": "bytes", "image_format": "str", "json": "str",
            "landmarks": f"ndarray:float32:{k},2", "visible": f"ndarray:uint8:{k}",
            "transform": "ndarray:float64:2,3"}
    if heatmaps:
        cols["heatmaps"] = "bytes"
    return cols


def _fixed_size(encoding: str) -> int | None:
    """Bytes of a fixed-size column (``ndarray:DTYPE:SHAPE``), None for variable ones."""
    if not encoding.startswith("ndarray:"):
        return None
    _, dtype, shape = encoding.split(":")
    return int(np.prod([int(d) for d in shape.split(",")])) * np.dtype(dtype).itemsize


def encode_column(encoding: str, value: Any) -> bytes:
    """One column's bytes: UTF-8 text, raw bytes, or a C-order array of the declared dtype/shape."""
    if encoding == "str":
        return str(value).encode("utf-8")
    if encoding == "bytes":
        return bytes(value)
    _, dtype, shape = encoding.split(":")
    array = np.asarray(value)
    expected = tuple(int(d) for d in shape.split(","))
    if array.shape != expected or array.dtype != np.dtype(dtype):
        raise ExportError(f"MDS column {encoding!r}: expected {dtype} {expected}, "
                          f"found {array.dtype} {array.shape}")
    return np.ascontiguousarray(array).tobytes()


class MdsWriter:
    """Writes one MDS dataset folder: ``write`` samples, then ``finish`` (last shard, then index)."""

    def __init__(self, folder: Path, cols: dict[str, str], size_limit: int = CHUNK_BYTES) -> None:
        self.folder = folder
        self.names = sorted(cols)
        self.encodings = [cols[n] for n in self.names]
        self.sizes = [_fixed_size(e) for e in self.encodings]
        self.config = {"column_encodings": self.encodings, "column_names": self.names,
                       "column_sizes": self.sizes, "compression": None, "format": "mds",
                       "hashes": [HASH], "size_limit": size_limit, "version": 2}
        self.config_bytes = json.dumps(self.config, sort_keys=True).encode("utf-8")
        self.size_limit = size_limit
        self.shards: list[dict[str, Any]] = []
        self.pending: list[bytes] = []
        self.pending_bytes = 0

    def encode(self, fields: dict[str, Any]) -> bytes:
        """One sample: the sizes of its variable-size columns, then each column's bytes."""
        data = [encode_column(e, fields[n]) for n, e in zip(self.names, self.encodings, strict=True)]
        sizes = [len(d) for d, fixed in zip(data, self.sizes, strict=True) if fixed is None]
        return np.asarray(sizes, np.uint32).tobytes() + b"".join(data)

    def write(self, fields: dict[str, Any]) -> None:
        sample = self.encode(fields)
        header = 8 + len(self.config_bytes)
        if self.pending and header + self.pending_bytes + len(sample) + 4 > self.size_limit:
            self._flush()
        self.pending.append(sample)
        self.pending_bytes += len(sample) + 4

    def _flush(self) -> None:
        n = len(self.pending)
        start = 4 + 4 * (n + 1) + len(self.config_bytes)
        offsets = start + np.concatenate([[0], np.cumsum([len(s) for s in self.pending])])
        if offsets[-1] >= 1 << 32:
            raise ExportError(f"{self.folder}: expected an MDS shard below 4 GiB, found {offsets[-1]} bytes")
        data = (np.uint32(n).tobytes() + offsets.astype(np.uint32).tobytes() + self.config_bytes
                + b"".join(self.pending))
        name = f"shard.{len(self.shards):05d}.mds"
        write_atomic(self.folder / name, data)
        raw = {"basename": name, "bytes": len(data), "hashes": {HASH: hashlib.sha256(data).hexdigest()}}
        self.shards.append({**self.config, "raw_data": raw, "samples": n, "zip_data": None})
        self.pending, self.pending_bytes = [], 0

    def finish(self) -> None:
        if self.pending:
            self._flush()
        index = json.dumps({"shards": self.shards, "version": 2}, sort_keys=True).encode("utf-8")
        write_atomic(self.folder / INDEX_FILE, index)


def write_split(ctx: ExportContext, split: str, samples: Iterable[ExportSample]) -> SplitExport:
    """Write ``DEST/<split>/`` (shards as they fill, the index last)."""
    folder = ctx.dest / split
    folder.mkdir()
    writer = MdsWriter(folder, columns(ctx.scheme.num_points, ctx.heatmaps), CHUNK_BYTES)
    n = 0
    for sample in samples:
        writer.write(record_fields(sample, ctx.heatmaps))
        n += 1
    writer.finish()
    return SplitExport(split, n, f"{split}/")


def write_shared(ctx: ExportContext) -> tuple[str, ...]:
    return ()


def check() -> None:
    """Writing MDS needs no optional package (reading it back uses mosaicml-streaming: ``[mds]``)."""


TARGET = Target("mds", check, write_split, write_shared)
