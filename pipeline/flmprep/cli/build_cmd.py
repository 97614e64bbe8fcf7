"""``flmprep build``: build WebDataset shards with a local process pool (no Java needed), and the
command tail it shares with ``spark-submit jobs/build_shards.py``."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from flmprep.builder.config import BuildConfig, build_options, from_options
from flmprep.builder.driver import BuildRun, Engine, run_build
from flmprep.builder.finalize import exit_status
from flmprep.builder.local import LocalEngine, default_workers
from flmprep.builder.progress import summary_table
from flmprep.cli.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, GuardedCommand, Terminated, exit_table, fail

log = logging.getLogger(__name__)


def run_and_exit(prog: str, options: dict[str, Any], make_engine: Callable[[BuildConfig], Engine],
                 *, show_progress: bool = True, report: Callable[[BuildRun], str] | None = None) -> NoReturn:
    """Parse the build options, run the build on ``make_engine(cfg)``, print the summary and exit
    with the build's status (``cli.errors``: 0 ok; 2 bad options or input, a refused OUT, a bad
    record under --on-error fail; 3 when rejected/input records exceed --max-reject-ratio, after
    writing everything; 130/143 stopped, finished shards kept)."""
    cfg = from_options(**options)
    try:
        run = run_build(cfg, make_engine(cfg), show_progress=show_progress)
    except (KeyboardInterrupt, Terminated) as exc:
        terminated = isinstance(exc, Terminated)
        fail(prog, f"stopped by {'SIGTERM' if terminated else 'Ctrl-C'}: finished shards are kept; rerun "
                   "with --resume to build the rest", EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)
    click.echo(summary_table(run.manifest))
    if report is not None:
        click.echo(report(run))
    sys.exit(exit_status(cfg, run.manifest))


@click.command("build", cls=GuardedCommand, context_settings={"max_content_width": 110}, epilog=exit_table())
@build_options
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the usable CPU cores).")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Show a progress bar (shards done/total, samples/s, rejects) on stderr.")
def build(workers: int | None, progress: bool, **options: Any) -> None:
    """Build OUT/<split>/shard-NNNN.tar shards, OUT/manifest.json and OUT/rejects.jsonl.

    Runs the same plan and per-shard function as `spark-submit jobs/build_shards.py`, so both
    give byte-identical output.
    """
    n = workers or default_workers()

    def rate(run: BuildRun) -> str:
        return f"{run.built} shards built this run with {n} workers, {run.samples_per_second:,.0f} samples/s"

    run_and_exit("flmprep build", options, lambda cfg: LocalEngine(n), show_progress=progress, report=rate)
