"""What every exporter shares: the export's context and results, the DEST checks, the progress
bar, atomic publication of folders a third-party writer filled, and ``DEST/export.json``."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tqdm import tqdm

from flmprep import __version__
from flmprep.atomic import fsync_dir, tmp_name
from flmprep.export.source import ExportError, ExportSample
from flmprep.jsonio import write_json
from flmprep.schemes import Scheme
from flmprep.shards.manifest import Manifest

RECORD_FILE = "export.json"
RECORD_SCHEMA = "flmprep.export/1"
#: Largest LitData chunk / MDS shard, in bytes.
CHUNK_BYTES = 1 << 26


@dataclass(frozen=True)
class ExportContext:
    """The build being exported and where to: ``source`` and ``dest`` are folders."""

    source: Path
    dest: Path
    manifest: Manifest
    scheme: Scheme
    progress: bool = True

    @property
    def heatmaps(self) -> bool:
        """Whether the build stored ``KEY.hm.png`` heatmaps (its config's ``heatmaps``)."""
        return bool(self.manifest.config.get("heatmaps", False))


@dataclass(frozen=True)
class SplitExport:
    """One exported split: its sample count and its file or folder, relative to DEST."""

    split: str
    samples: int
    path: str


@dataclass(frozen=True)
class ExportResult:
    """A finished export: the format, DEST, every split and the files written once per export."""

    format: str
    dest: Path
    splits: tuple[SplitExport, ...]
    shared: tuple[str, ...] = ()

    def to_json(self, manifest: Manifest) -> dict[str, Any]:
        """The content of ``DEST/export.json``."""
        return {
            "schema": RECORD_SCHEMA,
            "format": self.format,
            "flmprep_version": __version__,
            "source": {"dataset": manifest.dataset, "scheme": manifest.scheme, "recipe": manifest.recipe,
                       "config_hash": manifest.config_hash, "flmprep_version": manifest.flmprep_version},
            "splits": {s.split: {"samples": s.samples, "path": s.path} for s in self.splits},
            "shared": list(self.shared),
        }


@dataclass(frozen=True)
class Target:
    """One export format: ``check`` raises ExportError when its optional package is missing,
    ``write_split`` exports one split, ``write_shared`` writes the files an export needs once."""

    name: str
    check: Callable[[], None]
    write_split: Callable[[ExportContext, str, Iterable[ExportSample]], SplitExport]
    write_shared: Callable[[ExportContext], tuple[str, ...]]


def require(module: str, package: str, extra: str) -> ModuleType:
    """Import an optional package; ExportError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ExportError(f"--to {extra}: expected the {package} package, found none ({exc}); "
                          f"install it with: pip install 'flmprep[{extra}]'") from exc


def prepare_dest(dest: Path, source: Path) -> Path:
    """Create DEST, or accept an empty one; ExportError for a non-empty DEST, a file, or a
    DEST inside the build (an export never writes into SOURCE)."""
    if dest.resolve().is_relative_to(source.resolve()):
        raise ExportError(f"{dest}: expected a folder outside the build {source}, found one inside it")
    if dest.exists() and not dest.is_dir():
        raise ExportError(f"{dest}: expected a folder to export into, found a file")
    if dest.is_dir():
        entries = sorted(p.name for p in dest.iterdir())
        if entries:
            raise ExportError(f"{dest}: expected an empty or new folder, found {len(entries)} entries "
                              f"(first: {entries[0]!r}); remove them or choose another DEST")
    dest.mkdir(parents=True, exist_ok=True)
    return dest


def with_progress(samples: Iterable[ExportSample], total: int, desc: str,
                  enabled: bool) -> Iterator[ExportSample]:
    """``samples`` behind a tqdm bar on stderr (samples done / total)."""
    bar = tqdm(samples, total=total, desc=desc, unit="sample", file=sys.stderr, disable=not enabled,
               dynamic_ncols=True, mininterval=0.5)
    try:
        yield from bar
    finally:
        bar.close()


def staging_dir(final: Path) -> Path:
    """A fresh hidden sibling folder for a third-party writer to fill before ``publish_dir``."""
    staging = tmp_name(final.with_name(f".{final.name}"))
    staging.mkdir()
    return staging


def publish_dir(staging: Path, final: Path, last: str) -> None:
    """Move every file of ``staging`` into ``final`` (fsynced, then renamed; ``last`` is moved
    last, so its presence means the folder is complete) and remove ``staging``."""
    final.mkdir(parents=True, exist_ok=True)
    names = [*sorted(p.name for p in staging.iterdir() if p.name != last), last]
    for name in names:
        path = staging / name
        if not path.is_file():
            raise ExportError(f"{path}: expected a file written by the exporter, found "
                              f"{'nothing' if not path.exists() else 'a folder'}")
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(path, final / name)
    fsync_dir(final)
    staging.rmdir()


def remove_staging(staging: Path) -> None:
    """Remove what an interrupted writer left in ``staging``."""
    shutil.rmtree(staging, ignore_errors=True)


def write_record(result: ExportResult, manifest: Manifest) -> None:
    """``DEST/export.json``, written last: its presence means the export finished."""
    write_json(result.dest / RECORD_FILE, result.to_json(manifest))


def record_fields(sample: ExportSample, heatmaps: bool) -> dict[str, Any]:
    """One LitData / MDS sample: the encoded image and heatmap bytes as stored, the arrays, the
    sample JSON text as stored (``heatmaps`` only when the build has them)."""
    fields: dict[str, Any] = {
        "key": sample.key,
        "image": sample.image,
        "image_format": sample.image_format,
        "landmarks": sample.landmarks,
        "visible": sample.visible,
        "transform": sample.transform,
        "json": sample.json.decode("utf-8"),
    }
    if heatmaps:
        if sample.heatmap is None:
            raise ExportError(f"sample {sample.key!r} ({sample.split}): expected a {sample.key}.hm.png "
                              "member (the build has heatmaps), found none")
        fields["heatmaps"] = sample.heatmap
    return fields
