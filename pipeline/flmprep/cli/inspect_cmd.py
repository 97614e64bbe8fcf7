"""``flmprep inspect PATH``: summarise, list, render and validate a shard or a built dataset.

Exit status: 0 when every sample validates, 1 when any does not, 2 on unreadable input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from flmprep import imageio
from flmprep.cli.errors import EXIT_INPUT, EXIT_PROBLEMS, GuardedCommand, fail
from flmprep.cli.options import max_member_bytes_option
from flmprep.inspect import SampleRow, Summary, render_sheet, summarise
from flmprep.shards.reader import Limits, ShardReadError


def _num(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.6g}"


def _span(lo: float, hi: float) -> str:
    return f"{_num(lo)} … {_num(hi)}" if lo != hi else _num(lo)


def _counts(counter: dict[str, Any]) -> str:
    return ", ".join(f"{k} ×{v}" for k, v in counter.items()) or "-"


def _summary_lines(doc: dict[str, Any]) -> list[str]:
    """The human-readable summary, one ``label  value`` per line."""
    val = doc["validation"]
    lines = [
        ("path", f"{doc['paths'][0]}" + (f" (+{doc['shards'] - 1} more)" if doc["shards"] > 1 else "")),
        ("shards", f"{doc['shards']} ({doc['bytes']:,} bytes)"),
        ("samples", f"{doc['samples']:,}"),
        ("keys", f"{doc['keys']['first']} … {doc['keys']['last']}"),
    ]
    for i, (ext, m) in enumerate(doc["members"].items()):
        lines.append(("members" if i == 0 else "", f".{ext:<8} {m['count']:>8,}  {m['bytes']:>14,} bytes"))
    lines.append(("image sizes", _counts(doc["image_sizes"])))
    lines.append(("image modes", _counts(doc["image_modes"])))
    schemes = ", ".join(f"{n} (K={s['K']}) ×{s['count']}" for n, s in doc["schemes"].items())
    lines += [("scheme", schemes or "-"), ("splits", _counts(doc["splits"]))]
    vis = doc["visibility"]
    if vis["points"]:
        lines.append(("visible", f"{100 * vis['rate']:.2f} % of {vis['points']:,} landmarks"))
        x0, y0, x1, y1 = doc["landmark_bbox"]
        lines.append(("landmarks", f"x {_span(x0, x1)}, y {_span(y0, y1)} (output pixels)"))
    aug = doc["augment"]
    for i, (name, (lo, hi)) in enumerate(aug["ranges"].items()):
        lines.append(("augment" if i == 0 else "", f"{name:<24} {_span(lo, hi)}"))
    for name, rate in aug["true_rate"].items():
        lines.append(("", f"{name:<24} {100 * rate:.1f} % true"))
    lines.append(("heatmaps", _counts(doc["heatmaps"])))
    lines.append(("valid", f"{val['valid']:,} / {doc['samples']:,} samples against {val['schema']}"))
    width = max(len(label) for label, _ in lines) + 2
    return [f"{label:<{width}}{value}" for label, value in lines]


def _row_line(row: SampleRow) -> str:
    r = row.to_json()
    members = " ".join(f"{e}:{n}" for e, n in r["members"].items())
    if row.doc is None or row.problems:
        return f"{row.key}  {members}  INVALID ({len(row.problems)} problems; first: {row.problems[0]})"
    size = "{}x{}".format(*r["size"])
    flip = "flip" if r["flip"] else "-"
    return (
        f"{row.key}  {members}  {size}  {r['scheme']}  {r['split']}  vis {r['visible']}/{r['points']}  "
        f"view {r['view']} angle {_num(r['angle'])} scale {_num(r['scale'])} {flip}  ok"
    )


def _print_text(summary: Summary, doc: dict[str, Any]) -> None:
    for line in _summary_lines(doc):
        click.echo(line)
    if summary.rows:
        click.echo("")
        for row in summary.rows:
            click.echo(_row_line(row))
    if summary.shown is not None:
        click.echo("")
        click.echo(json.dumps(doc["sample"], indent=2, sort_keys=True))


def _print_invalid(summary: Summary) -> None:
    for shard, key, problems in summary.stats.invalid:
        for problem in problems:
            click.echo(f"INVALID {shard}: {key}: {problem}", err=True)


@click.command("inspect", cls=GuardedCommand)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--samples", "list_n", type=click.IntRange(min=0), default=0, help="List the first N samples.")
@click.option("--key", default=None, help="Show the sample KEY whole (members, JSON, problems).")
@click.option("--json", "as_json", is_flag=True, help="Print everything as one JSON object.")
@click.option("--render", type=click.Path(dir_okay=False, path_type=Path), help="Write a contact sheet PNG.")
@click.option(
    "--n",
    "render_n",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Samples on the contact sheet.",
)
@click.option("--labels", is_flag=True, help="Draw landmark indices on the contact sheet.")
@click.option("--heatmaps", is_flag=True, help="Overlay the stored heatmaps on the contact sheet.")
@max_member_bytes_option
def inspect_cmd(
    path: Path,
    list_n: int,
    key: str | None,
    as_json: bool,
    render: Path | None,
    render_n: int,
    labels: bool,
    heatmaps: bool,
    max_member_bytes: int,
) -> None:
    """Summarise a shard (.tar) or a built dataset folder and validate every sample.

    Exit status: 0 all samples valid, 1 some invalid, 2 unreadable input.
    """
    limits = Limits(max_member_bytes=max_member_bytes)
    try:
        summary, kept = summarise(
            path, list_samples=list_n, key=key, keep=render_n if render else 0, limits=limits
        )
    except (ShardReadError, OSError) as e:
        fail("flmprep inspect", str(e), EXIT_INPUT)
    except KeyError as e:
        fail("flmprep inspect", str(e.args[0]), EXIT_PROBLEMS)
    doc = summary.to_json()
    if render is not None and kept:
        render.write_bytes(imageio.encode(render_sheet(kept, labels=labels, heatmaps=heatmaps), "png"))
        doc["render"] = {"path": str(render), "samples": len(kept)}
    if as_json:
        click.echo(json.dumps(doc, sort_keys=True))
    else:
        _print_text(summary, doc)
        if render is not None:
            click.echo(
                f"rendered {len(kept)} samples to {render}" if kept else "nothing to render: no valid sample"
            )
    _print_invalid(summary)
    sys.exit(0 if not summary.stats.invalid else 1)
