"""``flmprep build``: build WebDataset shards with a local process pool (no Java needed)."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from flmprep.builder.config import build_options, from_options
from flmprep.builder.errors import BuildError
from flmprep.builder.finalize import exit_status
from flmprep.builder.local import default_workers, run_local
from flmprep.builder.progress import summary_table
from flmprep.errors import ConfigError, FlmprepError

log = logging.getLogger(__name__)


@click.command("build", context_settings={"max_content_width": 110})
@build_options
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the usable CPU cores).")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Show a progress bar (shards done/total, samples/s, rejects) on stderr.")
def build(workers: int | None, progress: bool, **options: Any) -> None:
    """Build OUT/<split>/shard-NNNN.tar shards, OUT/manifest.json and OUT/rejects.jsonl.

    Runs the same plan and per-shard function as `spark-submit jobs/build_shards.py`, so both
    give byte-identical output. Exit status: 0 ok; 1 on a bad record under --on-error fail or
    unusable input; 2 on bad options; 3 when rejected/input records exceed --max-reject-ratio
    (after writing everything).
    """
    try:
        cfg = from_options(**options)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    n = workers or default_workers()
    try:
        run = run_local(cfg, n, show_progress=progress)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    except (BuildError, FlmprepError) as exc:
        click.echo(f"flmprep build: error: {exc}", err=True)
        sys.exit(1)
    click.echo(summary_table(run.manifest))
    click.echo(f"{run.built} shards built this run with {n} workers, {run.samples_per_second:,.0f} samples/s")
    sys.exit(exit_status(cfg, run.manifest))
