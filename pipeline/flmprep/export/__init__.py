"""Export a built dataset for other trainers: COCO keypoints + mmpose meta-info, LitData, MDS.

Images are always the shards' encoded bytes, never decoded or re-encoded. ``export`` checks the
build, the split and the format's optional package before it creates DEST, refuses a non-empty
DEST, writes every file atomically and ``DEST/export.json`` last (its presence means the export
finished). The format modules load lazily, so importing this package is cheap.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from flmprep.export.common import (
    ExportContext,
    ExportResult,
    SplitExport,
    Target,
    prepare_dest,
    with_progress,
    write_record,
)
from flmprep.export.source import ExportError, choose_splits, iter_split, load_manifest, scheme_of

__all__ = ["FORMATS", "ExportError", "ExportResult", "SplitExport", "export"]

#: --to value -> the module holding its ``TARGET``.
FORMATS = {name: f"flmprep.export.to_{name}" for name in ("coco", "litdata", "mds")}

log = logging.getLogger(__name__)


def target(name: str) -> Target:
    """The exporter for ``--to name``; ExportError naming the formats for another name."""
    if name not in FORMATS:
        raise ExportError(f"--to: expected one of {', '.join(FORMATS)}, found {name!r}")
    found = importlib.import_module(FORMATS[name]).TARGET
    assert isinstance(found, Target)
    return found


def export(source: str | Path, to: str, dest: str | Path, split: str | None = None, *,
           progress: bool = True) -> ExportResult:
    """Export the build in ``source`` (every split, or ``split``) to ``dest`` in format ``to``.

    Raises ExportError (one line: the file or sample, what was expected, what was found) for a
    missing or invalid build, an unknown split, a missing optional package, a non-empty DEST or
    a malformed sample."""
    source, dest = Path(source), Path(dest)
    fmt = target(to)
    manifest = load_manifest(source)
    splits = choose_splits(manifest, source, split)
    scheme = scheme_of(manifest, source)
    fmt.check()
    ctx = ExportContext(source, prepare_dest(dest, source), manifest, scheme, progress)
    shared = fmt.write_shared(ctx)
    done: list[SplitExport] = []
    for name in splits:
        total = manifest.splits[name].samples
        if total == 0:
            log.warning("split %s has no samples: nothing to export", name)
            done.append(SplitExport(name, 0, ""))
            continue
        samples = with_progress(iter_split(source, manifest, name), total, f"{name} → {to}", progress)
        done.append(fmt.write_split(ctx, name, samples))
    result = ExportResult(to, dest, tuple(done), shared)
    write_record(result, manifest)
    return result
