"""``flmprep train`` (one process) and ``flmprep evaluate`` (metrics of a checkpoint)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from flmprep.cli.errors import EXIT_PROBLEMS, GuardedCommand
from flmprep.cli.evaluate_sources import evaluate_from_sources, source_options
from flmprep.jsonio import finite_json
from flmprep.train.config import TrainConfig, explicit_options, from_options, options, train_options


def preset_line(cfg: TrainConfig) -> str:
    """One line with what a preset resolved to."""
    milestones = ",".join(str(m) for m in cfg.milestones) or "none"
    return (
        f"preset {cfg.preset}: model {cfg.model}, loss {cfg.loss}, {cfg.optimizer} lr {cfg.lr:g}, "
        f"batch {cfg.batch_size}, {cfg.epochs} epochs, milestones {milestones}"
    )


@click.command(cls=GuardedCommand)
@train_options
def train(**kwargs: Any) -> None:
    """Train a landmark model on built shards in this process (several: torchrun -m flmprep.train)."""
    from flmprep.train.loop import run

    cfg = from_options(explicit_options(click.get_current_context()), **kwargs)
    if cfg.preset:
        click.echo(preset_line(cfg))
    run(cfg, click.echo)


def report_table(report: dict[str, Any]) -> str:
    """The protocol (normaliser, thresholds) and one row per part or attribute, from ``--json``'s doc."""
    protocol = report["protocol"]
    columns = [(key, title) for key, title in protocol["columns"]]
    lines = [
        f"normaliser: {protocol['normaliser']}",
        f"thresholds: {', '.join(title for _, title in columns)}",
        f"{'subset':<14} {'faces':>6} {'NME':>8}" + "".join(f" {title:>8}" for _, title in columns),
    ]
    head = list(report["parts"].items()) or [("all", report)]
    for name, m in head + sorted(report["subsets"].items()):
        scores = "".join(f" {_cell(m[key])}" for key, _ in columns)
        lines.append(f"{name:<14} {m['count']:>6} {_cell(m['nme'])}{scores}")
    skipped = report.get("skipped", ())
    if skipped:
        lines.append(f"skipped {len(skipped)} corrupt samples (not scored): " + "; ".join(skipped[:3])
                     + ("; …" if len(skipped) > 3 else ""))
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    """A score column: four decimals, or "-" for none (no faces to score)."""
    return f"{value:>8.4f}" if value is not None else f"{'-':>8}"


@click.command(cls=GuardedCommand)
@click.option(
    "--data",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Built dataset folder (holds manifest.json); or --dataset and --root.",
)
@click.option("--checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option(
    "--split",
    default="test",
    show_default=True,
    help="Split to score; test on a 300W standard-protocol build scores test_common and test_challenge.",
)
@options("batch_size", "workers", "amp")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@source_options
def evaluate(
    data: Path | None, checkpoint: Path, split: str, batch_size: int, workers: int, amp: bool, as_json: bool,
    **source: Any,
) -> None:
    """NME, failure rates and AUC of a checkpoint in source-image pixels, at the scheme's thresholds:
    on the shards of --data, or (--dataset, --root) from the native dataset's images by the predict
    path (one table per pass count)."""
    if source["dataset"] is not None:
        evaluate_from_sources(checkpoint, split, as_json, report_table, **source)
        return
    if data is None:
        raise click.UsageError("expected --data (built shards) or --dataset and --root (source images)")
    from flmprep.train.predict import evaluate_checkpoint
    from flmprep.train.runtime import start, stop

    runtime = start()
    try:
        report = evaluate_checkpoint(data, checkpoint, split, runtime, batch_size, workers, amp).to_json()
    finally:
        stop(runtime)
    if runtime.is_main:
        report = finite_json(report)
        click.echo(json.dumps(report, sort_keys=True, allow_nan=False) if as_json else report_table(report))
    if report["skipped"]:
        sys.exit(EXIT_PROBLEMS)
