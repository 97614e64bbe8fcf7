"""The local engine of ``flmprep build``: the same plan and ``build_shard`` in a process pool.

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
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from flmprep.builder import finalize as fin
from flmprep.builder import plan as planner
from flmprep.builder import worker
from flmprep.builder.config import BuildConfig, prepare_output
from flmprep.builder.progress import Progress
from flmprep.builder.shard import ShardResult, build_shard

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


def _worker_init() -> None:
    """Pool worker set-up: die with the driver; then ``worker.tune_process``."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    worker.tune_process()


@dataclass(frozen=True)
class LocalRun:
    """What a local build produced: the manifest, the shards built this run, the build rate."""

    manifest: dict[str, Any]
    built: int
    samples_per_second: float


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _build_all(
    pool: ProcessPoolExecutor, todo: list[planner.ShardTask], progress: Progress
) -> list[ShardResult]:
    futures: dict[Future[ShardResult], planner.ShardTask] = {
        pool.submit(build_shard, t): t for t in planner.longest_first(todo)
    }
    results: list[ShardResult] = []
    try:
        for future in as_completed(futures):
            result = future.result()
            results.append(result)
            progress.update(result.samples, len(result.rejects))
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return sorted(results, key=lambda r: (r.split, r.index))


def run_local(cfg: BuildConfig, workers: int, *, show_progress: bool = True) -> LocalRun:
    """Probe, plan, build the pending shards in ``workers`` processes, finalize."""
    prepare_output(cfg)
    probes = planner.probe_tasks(cfg)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max(1, workers), mp_context=context, initializer=_worker_init) as pool:
        results = list(pool.map(planner.run_probe, probes))
        the_plan = planner.make_plan(cfg, results)
        todo = planner.pending(cfg, the_plan) if cfg.resume else list(the_plan.tasks)
        progress = Progress(len(the_plan.tasks), len(the_plan.tasks) - len(todo), disable=not show_progress)
        try:
            built = _build_all(pool, todo, progress)
        finally:
            progress.close()
    manifest = fin.finalize(cfg, the_plan)
    return LocalRun(manifest, len(built), progress.rate)
