"""``flmprep models [--points K] [--json]``: every model, its input, points, parameters, seed, loss."""

from __future__ import annotations

import json

import click


@click.command("models")
@click.option(
    "--points",
    type=click.IntRange(min=1),
    default=None,
    help="Build every model for K points (default: the K each is built for).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects.")
def models(points: int | None, as_json: bool) -> None:
    """List every landmark model: input [C, H, W], points, parameter count, seed, default loss."""
    from flmprep.train.models.listing import model_rows

    rows = model_rows(points)
    if as_json:
        click.echo(json.dumps([row.to_json() for row in rows], indent=1))
        return
    header = f"{'model':<12} {'input':<12} {'points':>6} {'parameters':>11}  {'seed':<26} loss"
    lines = [header]
    for row in rows:
        c, h, w = row.info.input
        mark = " *" if row.note else ""
        seed = row.info.seed or "(flmprep's own)"
        lines.append(
            f"{row.info.name:<12} {f'{c}×{h}×{w}':<12} {row.points:>6} {row.parameters:>11,}  "
            f"{seed:<26} {row.info.loss}{mark}"
        )
    lines += [f"* {row.info.name}: {row.note}" for row in rows if row.note]
    click.echo("\n".join(lines))
