"""``--to litdata``: one LitData optimized dataset per split, ``DEST/<split>/`` (``index.json`` and
``chunk-*.bin``), readable with ``litdata.StreamingDataset``.

Each item is a dict: ``key`` (str), ``image`` (the shard's encoded bytes, never re-encoded; LitData
returns them as a memoryview), ``image_format`` (jpg|png|webp), ``landmarks`` float32 [K, 2],
``visible`` uint8 [K], ``transform`` float64 [2, 3] (source -> output pixels), ``json`` (the
sample JSON text as stored) and, when the build has heatmaps, ``heatmaps`` (the tiled PNG bytes).
LitData's writer fills a hidden staging folder; its files are then moved into place, index last.
"""

from __future__ import annotations

from collections.abc import Iterable

from flmprep.export.common import (
    CHUNK_BYTES,
    ExportContext,
    SplitExport,
    Target,
    publish_dir,
    record_fields,
    remove_staging,
    require,
    staging_dir,
)
from flmprep.export.source import ExportSample

INDEX_FILE = "index.json"


def write_split(ctx: ExportContext, split: str, samples: Iterable[ExportSample]) -> SplitExport:
    """Write ``DEST/<split>/`` with LitData's own writer (raw bytes in, raw bytes stored)."""
    writer_module = require("litdata.streaming.writer", "litdata", "litdata")
    final = ctx.dest / split
    staging = staging_dir(final)
    try:
        writer = writer_module.BinaryWriter(str(staging), chunk_bytes=CHUNK_BYTES)
        n = 0
        for sample in samples:
            writer[n] = record_fields(sample, ctx.heatmaps)
            n += 1
        writer.done()
        writer.merge()  # the driver never exports an empty split: merge would wait for an index
        publish_dir(staging, final, INDEX_FILE)
    finally:
        remove_staging(staging)
    return SplitExport(split, n, f"{split}/")


def write_shared(ctx: ExportContext) -> tuple[str, ...]:
    return ()


def check() -> None:
    require("litdata", "litdata", "litdata")


TARGET = Target("litdata", check, write_split, write_shared)
