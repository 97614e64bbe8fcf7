"""The local engine of ``flmprep build``: probe and shard tasks in a process pool.

Workers are started with ``spawn`` and die with the driver (``PR_SET_PDEATHSIG``), so a killed
build leaves no orphans. Results are keyed by shard, so completion order never matters.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed

from flmprep.builder import plan as planner
from flmprep.builder import worker
from flmprep.builder.config import BuildConfig
from flmprep.builder.driver import BuildRun, run_build
from flmprep.builder.progress import Progress
from flmprep.builder.shard import ShardFailure, ShardOutcome, ShardResult, run_shard_task

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


def _worker_init() -> None:
    """Pool worker set-up: die with the driver; leave Ctrl-C and SIGTERM to the driver (it lets
    running shards finish and stops the pool in order); then ``worker.tune_process``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    worker.tune_process()


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class LocalEngine:
    """``workers`` spawned processes; the driver never probes (the pool does it in parallel)."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None

    @property
    def name(self) -> str:
        return f"a pool of {self.workers} processes"

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_worker_init)

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    @property
    def pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            raise RuntimeError("LocalEngine: start() it first")
        return self._pool

    def probes_in_driver(self, records: int) -> bool:
        return False

    def map_probes(self, tasks: Sequence[planner.ProbeTask]) -> list[list[planner.ProbeResult]]:
        log.info("probing %d records in %d tasks on %s", sum(len(t.records) for t in tasks), len(tasks),
                 self.name)
        return list(self.pool.map(planner.run_probe, tasks))

    def map_shards(self, tasks: Sequence[planner.ShardTask], progress: Progress) -> list[ShardOutcome]:
        """Every task in submission order; after a failure, the tasks not yet started are dropped."""
        futures: list[Future[ShardOutcome]] = [self.pool.submit(run_shard_task, t) for t in tasks]
        outcomes: list[ShardOutcome] = []
        try:
            for future in as_completed(futures):
                outcome = future.result()
                outcomes.append(outcome)
                if isinstance(outcome, ShardFailure):
                    break
                assert isinstance(outcome, ShardResult)
                progress.update(outcome.samples, len(outcome.rejects))
        finally:
            for future in futures:
                future.cancel()
        return outcomes


def run_local(cfg: BuildConfig, workers: int, *, show_progress: bool = True) -> BuildRun:
    """The driver's sequence on a local pool of ``workers`` processes."""
    return run_build(cfg, LocalEngine(workers), show_progress=show_progress)
