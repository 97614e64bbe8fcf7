"""``flmprep train`` (one process) and ``flmprep evaluate`` (metrics of a checkpoint)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from flmprep.cli.errors import GuardedCommand
from flmprep.train.config import from_options, train_options


@click.command(cls=GuardedCommand)
@train_options
def train(**kwargs: Any) -> None:
    """Train a landmark model on built shards in this process (several: torchrun -m flmprep.train)."""
    from flmprep.train.loop import run

    history = run(from_options(**kwargs))
    for row in history:
        val = row.get("val", {})
        click.echo(
            f"epoch {row['epoch']:3d}  steps {row['steps']}  train_loss {row['train_loss']:.5f}"
            + (f"  val_loss {val['loss']:.5f}  NME {val['nme']:.4f}" if val else "")
        )


def _table(report: dict[str, Any]) -> str:
    lines = [f"{'subset':<14} {'faces':>6} {'NME':>8} {'FR@0.08':>8} {'FR@0.10':>8} {'AUC@0.10':>9}"]
    rows = [("all", report), *sorted(report["subsets"].items())]
    for name, m in rows:
        scores = " ".join(f"{m[k]:>8.4f}" for k in ("nme", "fr_008", "fr_010"))
        lines.append(f"{name:<14} {m['count']:>6} {scores} {m['auc_010']:>9.4f}")
    return "\n".join(lines)


@click.command(cls=GuardedCommand)
@click.option(
    "--data",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="Built dataset folder (holds manifest.json).",
)
@click.option("--checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--split", default="test", show_default=True)
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--workers", type=int, default=2, show_default=True)
@click.option("--amp", is_flag=True, help="bf16 autocast.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def evaluate(
    data: Path, checkpoint: Path, split: str, batch_size: int, workers: int, amp: bool, as_json: bool
) -> None:
    """NME, failure rate at 0.08/0.10 and AUC@0.10 of a checkpoint, in source-image pixels."""
    from flmprep.train.predict import evaluate_checkpoint
    from flmprep.train.runtime import start, stop

    runtime = start()
    try:
        report = evaluate_checkpoint(data, checkpoint, split, runtime, batch_size, workers, amp).to_json()
    finally:
        stop(runtime)
    if runtime.is_main:
        click.echo(json.dumps(report, sort_keys=True) if as_json else _table(report))
