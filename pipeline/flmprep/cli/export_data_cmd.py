"""``flmprep export SOURCE --to coco|litdata|mds DEST [--split S]``: a built dataset in another
trainer's format (the images' encoded bytes kept, never re-encoded).

``export_dataset`` is the body of that form of ``flmprep export`` (``cli.export_cmd`` parses the
options, and also exports checkpoints). Exit status: 0 done; 2 a missing or invalid build, an
unknown split, a missing optional package, a non-empty DEST or a bad sample.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from flmprep.export import ExportError, export

PROG = "flmprep export"


def export_dataset(source: Path, to: str, dest: Path, split: str | None, *, progress: bool = True) -> None:
    """Run the export and print one line per split; on a user error print one line to stderr and
    exit 2."""
    try:
        result = export(source, to, dest, split, progress=progress)
    except ExportError as exc:
        click.echo(f"{PROG}: error: {exc}", err=True)
        sys.exit(2)
    for s in result.splits:
        where = f"{result.dest / s.path}" if s.path else "nothing (empty split)"
        click.echo(f"{s.split}: {s.samples:,} samples -> {where}")
    for name in result.shared:
        click.echo(f"wrote {result.dest / name}")
