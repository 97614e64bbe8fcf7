"""``flmprep export SOURCE --onnx MODEL.onnx``: write SOURCE in another format.

Each target is one option and one entry in ``TARGETS`` (what SOURCE must be, and the library
function that writes it); exactly one target per run. Today: ``--onnx`` (SOURCE is a training
checkpoint). Exit status: 0 written; 2 bad options or an unusable SOURCE.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

from flmprep.errors import FlmprepError


def fail(message: str) -> NoReturn:
    click.echo(f"flmprep export: error: {message}", err=True)
    sys.exit(2)


def _onnx(source: Path, dest: Any) -> str:
    from flmprep.predict.export import export_onnx

    if not source.is_file():
        raise click.UsageError(f"--onnx: expected SOURCE to be a checkpoint file, found {source}")
    meta = export_onnx(source, Path(dest))
    spec = meta.input
    return (
        f"wrote {dest}: {meta.model}, {meta.num_points} points, input {spec.channels}×{spec.height}×"
        f"{spec.width}, recipe {meta.recipe.name}"
    )


@dataclass(frozen=True)
class Target:
    """An export target: the option that names it and the function writing SOURCE to it."""

    option: str
    write: Callable[[Path, Any], str]


TARGETS = {"onnx_out": Target("--onnx", _onnx)}


@click.command("export")
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--onnx",
    "onnx_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SOURCE is a checkpoint: write its model as ONNX (dynamic batch, metadata for predict).",
)
def export(source: Path, **targets: Any) -> None:
    """Export SOURCE (a checkpoint, with --onnx) to another format."""
    chosen = [name for name, value in targets.items() if value is not None]
    if len(chosen) != 1:
        options = ", ".join(t.option for t in TARGETS.values())
        raise click.UsageError(f"expected exactly one of {options}, found {len(chosen)}")
    if not source.exists():
        fail(f"{source}: expected a file to export, found nothing there")
    name = chosen[0]
    try:
        click.echo(TARGETS[name].write(source, targets[name]))
    except (FlmprepError, OSError) as exc:
        fail(str(exc))
