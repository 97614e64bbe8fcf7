"""The one build sequence, whatever runs the work: prepare OUT → read (+ probe) → plan →
pending → build shards → stop the engine → finalize.

An engine only starts and stops its workers and maps two kinds of task: probe tasks (stat and
header of each image) and shard tasks (``shard.run_shard_task``). The local process pool
(``builder.local``) and Spark (``jobs/build_shards.py``) are the two engines, so both run the
same plan and write the same bytes.

While the engine starts (a Spark context and its Python workers take seconds), a driver thread
reads the annotations and, where the engine says so (Spark in local mode), probes them too, until
the engine is up; the engine probes whatever is left.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from flmprep.builder import finalize, outdir, sizing
from flmprep.builder import plan as planner
from flmprep.builder.config import BuildConfig
from flmprep.builder.errors import BuildError
from flmprep.builder.progress import Progress
from flmprep.builder.shard import ShardFailure, ShardOutcome, ShardResult
from flmprep.shards.manifest import Manifest

log = logging.getLogger(__name__)


class Engine(Protocol):
    """What runs a build's tasks. ``map_shards`` updates ``progress`` as shards finish and may
    stop early after a ``ShardFailure``; results may come back in any order. ``name`` says where
    the tasks run, for the log ("local[2]", "a pool of 2 processes"). ``probes_in_driver``: whether
    the driver may probe while the engine starts (it sees the same files as the workers, and has
    spare time). Engines log where they probe."""

    @property
    def name(self) -> str: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def probes_in_driver(self, records: int) -> bool: ...

    def map_probes(self, tasks: Sequence[planner.ProbeTask]) -> list[list[planner.ProbeResult]]: ...

    def map_shards(self, tasks: Sequence[planner.ShardTask], progress: Progress) -> list[ShardOutcome]: ...


@dataclass
class Stages:
    """Wall seconds of each stage of one build (reading overlaps the engine's start-up), and the
    seconds the shard tasks of this run took, summed (`building`: against `shards` × workers, what
    the engine spent around them)."""

    startup: float = 0.0
    read: float = 0.0
    probe: float = 0.0
    plan: float = 0.0
    shards: float = 0.0
    building: float = 0.0
    shutdown: float = 0.0
    finalize: float = 0.0

    def __str__(self) -> str:
        return (f"start-up {self.startup:.2f} s (reading annotations alongside {self.read:.2f} s), "
                f"probe {self.probe:.2f} s, plan {self.plan:.2f} s, shards {self.shards:.2f} s "
                f"(building {self.building:.2f} core-s), shutdown {self.shutdown:.2f} s, "
                f"finalize {self.finalize:.2f} s")


@dataclass(frozen=True)
class BuildRun:
    """What a build produced: the manifest, the shards built this run, the rate and the stages."""

    manifest: Manifest
    built: int
    samples_per_second: float
    stages: Stages = field(default_factory=Stages)


class _Reader(threading.Thread):
    """Reads the annotations into probe tasks and, where the engine asks for it, probes them one
    task after the other until the engine is up (``collect``); the engine probes the rest."""

    def __init__(self, cfg: BuildConfig, engine: Engine) -> None:
        super().__init__(name="flmprep-read", daemon=True)
        self.cfg, self.engine = cfg, engine
        self.tasks: list[planner.ProbeTask] = []
        self.results: list[list[planner.ProbeResult]] = []
        self.error: BaseException | None = None
        self.seconds = 0.0
        self._engine_up = threading.Event()

    def run(self) -> None:
        began = time.perf_counter()
        try:
            self.tasks = planner.probe_tasks(self.cfg)
            if self.engine.probes_in_driver(sum(len(t.records) for t in self.tasks)):
                for task in self.tasks:
                    if self._engine_up.is_set():
                        break
                    self.results.append(planner.run_probe(task))
        except BaseException as exc:  # re-raised by `collect` in the driver's thread
            self.error = exc
        self.seconds = time.perf_counter() - began

    def collect(self) -> tuple[list[planner.ProbeTask], list[list[planner.ProbeResult]]]:
        """Once the engine is up: every probe task, and the results of the first ones, those the
        driver probed meanwhile (after the task in hand, it stops)."""
        self._engine_up.set()
        self.join()
        if self.error is not None:
            raise self.error
        return self.tasks, self.results


def _checked(outcomes: list[ShardOutcome]) -> list[ShardResult]:
    """The results, or BuildError for the first failure (``--on-error fail`` met a bad record)."""
    failures = sorted((o for o in outcomes if isinstance(o, ShardFailure)), key=lambda f: (f.split, f.index))
    if failures:
        raise BuildError(failures[0].message)
    return sorted((o for o in outcomes if isinstance(o, ShardResult)), key=lambda r: (r.split, r.index))


def _plan_and_build(cfg: BuildConfig, engine: Engine, reader: _Reader, stages: Stages,
                    show_progress: bool) -> tuple[planner.Plan, list[ShardResult], Progress]:
    tasks, results = reader.collect()
    stages.read = reader.seconds
    began = time.perf_counter()
    if results:
        log.info("probed %d of %d records in the driver while %s started", sum(len(r) for r in results),
                 sum(len(t.records) + len(t.read_rejects) for t in tasks), engine.name)
    if len(results) < len(tasks):
        results = results + engine.map_probes(tasks[len(results):])
    stages.probe, began = time.perf_counter() - began, time.perf_counter()
    counts = tasks[0].read_counts if tasks else ()
    the_plan = planner.make_plan(sizing.resolve(cfg, results), results, counts)
    outdir.check_plan(cfg, planner.fingerprint(the_plan))
    todo = outdir.pending(the_plan) if cfg.resume else list(the_plan.tasks)
    stages.plan, began = time.perf_counter() - began, time.perf_counter()
    log.info("building %d of %d shards on %s", len(todo), len(the_plan.tasks), engine.name)
    total = len(the_plan.tasks)
    progress = Progress(total, total - len(todo), disable=not show_progress)
    try:
        built = _checked(engine.map_shards(planner.longest_first(todo), progress) if todo else [])
    finally:
        progress.close()
    stages.shards = time.perf_counter() - began
    stages.building = sum(r.seconds for r in built)
    log.info("built %d shards: %d samples, %d rejected records", len(built),
             sum(r.samples for r in built), sum(len(r.rejects) for r in built))
    return the_plan, built, progress


def run_build(cfg: BuildConfig, engine: Engine, *, show_progress: bool = True) -> BuildRun:
    """Build ``cfg`` with ``engine``: the whole sequence, OUT locked against other builds, the
    engine stopped before finalize (no task attempt writes into OUT after that)."""
    with outdir.locked(Path(cfg.out)):
        try:
            return _run_build(cfg, engine, show_progress)
        except BaseException:  # a bad record, a full disk, Ctrl-C, SIGTERM: leave no partial files
            outdir.remove_tmp(Path(cfg.out))
            raise


def _run_build(cfg: BuildConfig, engine: Engine, show_progress: bool) -> BuildRun:
    outdir.prepare(cfg)
    stages = Stages()
    reader = _Reader(cfg, engine)
    reader.start()
    began = time.perf_counter()
    engine.start()
    stages.startup = time.perf_counter() - began
    try:
        the_plan, built, progress = _plan_and_build(cfg, engine, reader, stages, show_progress)
    finally:
        began = time.perf_counter()
        engine.stop()
        stages.shutdown = time.perf_counter() - began
    began = time.perf_counter()
    manifest = finalize.finalize(the_plan.config, the_plan)
    stages.finalize = time.perf_counter() - began
    log.info("stages: %s", stages)
    return BuildRun(manifest, len(built), progress.rate, stages)
