"""``flmprep export SOURCE --to coco|litdata|mds DEST [--split S]``: a built dataset in another
trainer's format (the images' encoded bytes kept, never re-encoded).

``export_dataset`` is the command's body, kept apart from the click parsing so a command that
also exports checkpoints can call it for a dataset SOURCE. Exit status: 0 done; 2 a missing or
invalid build, an unknown split, a missing optional package, a non-empty DEST or a bad sample.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from flmprep.export import FORMATS, ExportError, export

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


@click.command("export")
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--to", "to", type=click.Choice(sorted(FORMATS)), required=True,
              help="coco: images, COCO keypoints JSON, mmpose meta-info; litdata / mds: streaming datasets.")
@click.option("--split", default=None, help="Export only this split (default: every split of the build).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr.")
def export_cmd(source: Path, dest: Path, to: str, split: str | None, progress: bool) -> None:
    """Export the built dataset SOURCE to DEST (a new or empty folder) in the format --to.

    Images are copied as the shards store them (never re-encoded). Exit status: 0 done; 2 on a
    missing or invalid build, an unknown split, a missing optional package or a non-empty DEST.
    """
    export_dataset(source, to, dest, split, progress=progress)
