"""``flmprep evaluate --dataset DS --root ROOT --checkpoint CKPT --boxes truth|detector|jitter``:
the options and the printing of evaluation from source images (``flmprep.predict.evaluate``),
one table per pass count 1..N, then every face that was not predicted."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from flmprep.cli.errors import fail
from flmprep.errors import FlmprepError
from flmprep.formats import DATASETS

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = [
    click.option(
        "--dataset",
        type=click.Choice(sorted(DATASETS)),
        default=None,
        help="Evaluate from this native dataset's images (with --root) instead of shards.",
    ),
    click.option(
        "--root",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=None,
        help="The native dataset's root folder.",
    ),
    click.option(
        "--protocol",
        default=None,
        help="How the native dataset is split (the build's --protocol, e.g. 300w); default: the dataset's.",
    ),
    click.option(
        "--boxes",
        type=click.Choice(["truth", "detector", "jitter"]),
        default="truth",
        show_default=True,
        help="Face boxes: annotated, the Haar detector's, or annotated moved by a seeded ±10 %.",
    ),
    click.option(
        "--iterations",
        type=click.IntRange(min=1),
        default=3,
        show_default=True,
        help="Passes per face; one table per pass count.",
    ),
    click.option(
        "--seed", "jitter_seed", type=int, default=0, show_default=True, help="Seed of --boxes jitter."
    ),
]


def source_options(func: F) -> F:
    for option in reversed(_OPTIONS):
        func = option(func)
    return func


def _plain(value: Any) -> Any:
    """JSON-ready: NaN (no face predicted) as null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def evaluate_from_sources(
    checkpoint: Path,
    split: str,
    as_json: bool,
    table: Callable[[dict[str, Any]], str],
    *,
    dataset: str,
    root: Path | None,
    protocol: str | None,
    boxes: str,
    iterations: int,
    jitter_seed: int,
) -> None:
    """Run and print; user errors are one line on stderr and exit status 2."""
    from flmprep.predict.evaluate import evaluate_sources
    from flmprep.predict.predictor import Predictor

    if root is None:
        raise click.UsageError("--dataset: expected --root too")
    try:
        predictor = Predictor.from_checkpoint(checkpoint)
        if boxes == "detector":
            predictor.meta.calibration.require("haar")
        result = evaluate_sources(predictor, dataset, root, split, boxes, iterations, jitter_seed, protocol)
    except (FlmprepError, ValueError, OSError) as exc:
        fail("flmprep evaluate", str(exc))
    if as_json:
        click.echo(json.dumps(_plain(result.to_json()), sort_keys=True))
        return
    for report in result.reports:
        lost = report["unpredicted"]
        note = f", {lost} not predicted (failures; NME over the rest)" if lost else ""
        click.echo(
            f"\n{dataset} {split} from source images, boxes {boxes}, {report['iterations']} "
            f"pass{'es' if report['iterations'] > 1 else ''}{note}"
        )
        click.echo(table(report))
    for u in result.unpredicted:
        click.echo(f"not predicted: {u.key}: {u.reason}: {u.message}")
