"""``flmprep export SOURCE ...``: write SOURCE in another format; what SOURCE is picks the target.

- a built dataset folder: ``--to coco|litdata|mds DEST [--split S]`` (``export_data_cmd.export_dataset``;
  the image bytes are kept);
- a training checkpoint: ``--onnx MODEL.onnx`` (``flmprep.predict.export``: dynamic batch, the
  model spec in the ONNX metadata, so ``flmprep predict --onnx`` needs neither torch nor the
  checkpoint).

Exactly one of ``--to`` and ``--onnx`` per run. Exit status: 0 written; 2 bad options, a missing or
unusable SOURCE, a refused DEST.
"""

from __future__ import annotations

from pathlib import Path

import click

from flmprep.cli.errors import GuardedCommand, fail
from flmprep.cli.export_data_cmd import export_dataset
from flmprep.export import FORMATS

PROG = "flmprep export"


def export_onnx_file(source: Path, out: Path) -> None:
    """Export the checkpoint ``source`` to ``out`` and print one line; one-line error, exit 2."""
    from flmprep.predict.export import export_onnx

    if source.is_dir():
        fail(PROG, f"--onnx: {source}: expected a checkpoint file (best.pt, last.pt), found a folder")
    if not source.exists():
        fail(PROG, f"--onnx: {source}: expected a checkpoint file, found nothing there")
    meta = export_onnx(source, out)  # a PredictError / OutputError becomes one line via GuardedCommand
    spec = meta.input
    click.echo(
        f"wrote {out}: {meta.model}, {meta.num_points} points, input {spec.channels}×{spec.height}×"
        f"{spec.width}, recipe {meta.recipe.name}"
    )


def _check(to: str | None, dest: Path | None, onnx_out: Path | None, split: str | None) -> None:
    if (to is None) == (onnx_out is None):
        raise click.UsageError("expected exactly one of --to FORMAT DEST (a built dataset) and "
                               "--onnx FILE (a checkpoint)")
    if to is not None and dest is None:
        raise click.UsageError(f"--to {to}: expected DEST (a new or empty folder), found none")
    if onnx_out is not None and (dest is not None or split is not None):
        extra = "DEST" if dest is not None else "--split"
        raise click.UsageError(f"--onnx: expected no {extra} (they go with --to), found {dest or split}")


@click.command("export", cls=GuardedCommand)
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("dest", type=click.Path(path_type=Path), required=False)
@click.option("--to", "to", type=click.Choice(sorted(FORMATS)), default=None,
              help="SOURCE is a built dataset: coco (images, COCO keypoints JSON, mmpose meta-info), "
                   "litdata or mds (streaming datasets), written to DEST.")
@click.option("--onnx", "onnx_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SOURCE is a checkpoint: write its model as ONNX (dynamic batch, metadata for predict).")
@click.option("--split", default=None, help="--to: export only this split (default: every split).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr.")
def export_cmd(
    source: Path, dest: Path | None, to: str | None, onnx_out: Path | None, split: str | None, progress: bool
) -> None:
    """Export SOURCE: a built dataset with --to FORMAT DEST (a new or empty folder; images copied as
    the shards store them, never re-encoded), or a checkpoint with --onnx FILE."""
    _check(to, dest, onnx_out, split)
    if onnx_out is not None:
        export_onnx_file(source, onnx_out)
        return
    assert to is not None and dest is not None
    export_dataset(source, to, dest, split, progress=progress)
