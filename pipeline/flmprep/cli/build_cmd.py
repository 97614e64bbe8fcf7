"""``flmprep build``: build WebDataset shards with a local process pool (no Java needed), and the
command tail it shares with ``spark-submit jobs/build_shards.py``."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from flmprep.builder.config import BuildConfig, build_options, from_options
from flmprep.builder.driver import BuildRun, Engine, run_build
from flmprep.builder.finalize import exit_status
from flmprep.builder.local import LocalEngine, default_workers
from flmprep.builder.progress import summary_table
from flmprep.errors import ConfigError, FlmprepError

log = logging.getLogger(__name__)
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


class Terminated(BaseException):
    """SIGTERM arrived: unwinds the build like Ctrl-C (engine stopped, partial files removed)."""


def _terminated(signum: int, frame: object) -> None:
    raise Terminated()


def run_and_exit(prog: str, options: dict[str, Any], make_engine: Callable[[BuildConfig], Engine],
                 *, show_progress: bool = True, report: Callable[[BuildRun], str] | None = None) -> NoReturn:
    """Parse the build options, run the build on ``make_engine(cfg)``, print the summary and exit
    with the build's status: 0 ok; 1 on a bad record under --on-error fail or unusable input;
    2 on bad options or a refused OUT (a click usage error); 3 when rejected/input records exceed
    --max-reject-ratio (after writing everything)."""
    signal.signal(signal.SIGTERM, _terminated)
    try:
        cfg = from_options(**options)
        run = run_build(cfg, make_engine(cfg), show_progress=show_progress)
    except (KeyboardInterrupt, Terminated) as exc:
        name = "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C"
        click.echo(f"{prog}: stopped by {name}: finished shards are kept; rerun with --resume to "
                   "build the rest", err=True)
        sys.exit(EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED)
    except ConfigError as exc:  # bad options, a non-empty OUT, --resume over changed records
        raise click.UsageError(str(exc)) from exc
    except FlmprepError as exc:
        click.echo(f"{prog}: error: {exc}", err=True)
        sys.exit(1)
    click.echo(summary_table(run.manifest))
    if report is not None:
        click.echo(report(run))
    sys.exit(exit_status(cfg, run.manifest))


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
    n = workers or default_workers()

    def rate(run: BuildRun) -> str:
        return f"{run.built} shards built this run with {n} workers, {run.samples_per_second:,.0f} samples/s"

    run_and_exit("flmprep build", options, lambda cfg: LocalEngine(n), show_progress=progress, report=rate)
