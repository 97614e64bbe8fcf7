"""spark-submit entry point: build WebDataset shards with Spark (thin wiring over flmprep.builder).

    spark-submit [--master URL] jobs/build_shards.py --dataset celeba --crops 20 --root DATA --out OUT

The driver reads annotations and plans; Spark maps the probe tasks (tiny results), then one task per
group of shards (`build_shard` writes each OUT/<split>/shard-NNNN.tar via a unique temporary file and
returns a small result); the driver writes the manifest last. No image bytes pass through the
driver, and a retried or speculative task rewrites identical bytes. This is the only module that
imports pyspark.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import click
from py4j.java_gateway import JavaGateway
from pyspark import SparkConf, SparkContext
from pyspark.accumulators import Accumulator
from pyspark.java_gateway import launch_gateway

from flmprep.builder import config, finalize, plan, shard, worker
from flmprep.builder.errors import BuildError
from flmprep.builder.progress import Progress, summary_table
from flmprep.errors import ConfigError, FlmprepError

log = logging.getLogger("flmprep.jobs.build_shards")

#: Default --shards-per-task.
SHARDS_PER_TASK = 8
#: Local mode probes up to this many records in the driver (~2 s at ~40 µs a record).
DRIVER_PROBE_MAX = 50_000

#: What a shard task returns: the shard's result, or the message of a BuildError (--on-error fail).
Outcome = shard.ShardResult | str


def parse_spark_conf(pairs: Sequence[str]) -> list[tuple[str, str]]:
    """KEY=VALUE strings from --spark-conf; raises click.BadParameter naming the bad one."""
    out = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, found {pair!r}", param_hint="--spark-conf")
        out.append((key.strip(), value))
    return out


def make_conf(master: str | None, pairs: Sequence[tuple[str, str]]) -> SparkConf:
    """The config for a context on `master`, else on spark.master (from --spark-conf, or
    spark-submit's --master or spark-defaults.conf), else on local[*] (spark-submit's own default)."""
    conf = SparkConf().setAll(list(pairs))
    if master:
        conf.setMaster(master)
    # Python workers run this interpreter unless told otherwise (right for local mode, a cluster on
    # this machine and the docker image; elsewhere set PYSPARK_PYTHON or spark.pyspark.python).
    python = conf.get("spark.pyspark.python")
    if python:
        os.environ["PYSPARK_PYTHON"] = python
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return conf


def master_of(conf: SparkConf, gateway: JavaGateway) -> str:
    """The master the context will get: `conf`'s (from --master or --spark-conf), else the JVM's
    spark.master (spark-submit's --master or spark-defaults.conf), else local[*]."""
    if conf.contains("spark.master"):
        return str(conf.get("spark.master"))
    return str(gateway.jvm.java.lang.System.getProperty("spark.master") or "local[*]")


def spark_context(conf: SparkConf, gateway: JavaGateway) -> SparkContext:
    """Start the context on `gateway` (the JVM side: a second or two)."""
    sc = SparkContext(conf=conf, gateway=gateway)
    if not sc.getConf().contains("spark.log.level"):  # set by neither spark-submit nor --spark-conf
        sc.setLogLevel("WARN")
    log.info("Spark context up: master %s, default parallelism %d", sc.master, sc.defaultParallelism)
    return sc


@dataclass(frozen=True)
class Counters:
    """Accumulators fed by finished shard tasks, for the progress bar only (a retried task may
    count twice; the summary comes from the sidecars)."""

    shards: Accumulator[int]
    samples: Accumulator[int]
    rejects: Accumulator[int]


def counted_build(counters: Counters) -> Callable[[list[plan.ShardTask]], list[Outcome]]:
    """The executor side of a Spark task: `build_shard` for each shard of its group, counted; a
    BuildError (--on-error fail) comes back as text and ends the group."""

    def run(group: list[plan.ShardTask]) -> list[Outcome]:
        worker.tune_process()  # one OpenCV thread (Spark's tasks are the parallelism), malloc
        outcomes: list[Outcome] = []
        for task in group:
            try:
                result = shard.build_shard(task)
            except BuildError as exc:
                outcomes.append(str(exc))
                break
            counters.shards.add(1)
            counters.samples.add(result.samples)
            counters.rejects.add(len(result.rejects))
            outcomes.append(result)
        return outcomes

    return run


class ProgressThread(threading.Thread):
    """Feeds the library's progress bar from the accumulators while Spark runs."""

    def __init__(self, counters: Counters, progress: Progress, interval: float = 0.5) -> None:
        super().__init__(name="flmprep-progress", daemon=True)
        self.counters, self.progress, self.interval = counters, progress, interval
        self.done = threading.Event()
        self.seen = (0, 0, 0)

    def poll(self) -> None:
        now = (self.counters.shards.value, self.counters.samples.value, self.counters.rejects.value)
        shards, samples, rejects = (a - b for a, b in zip(now, self.seen, strict=True))
        for i in range(shards):
            self.progress.update(samples if i == 0 else 0, rejects if i == 0 else 0)
        if shards:
            self.seen = now

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.poll()

    def stop(self) -> None:
        self.done.set()
        self.join()
        self.poll()
        self.progress.close()


class Probe(threading.Thread):
    """Reads the annotations while the Spark context starts. In local mode with at most
    DRIVER_PROBE_MAX records it then probes them here too, still while the context starts
    (~40 µs a record, less than the ~2 s a first Spark job costs). Otherwise the probe is a
    Spark job, one task per chunk of records."""

    def __init__(self, cfg: config.BuildConfig, local: bool) -> None:
        super().__init__(name="flmprep-probe", daemon=True)
        self.cfg, self.local = cfg, local
        self.tasks: list[plan.ProbeTask] = []
        self.results: list[list[plan.ProbeResult]] | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.tasks = plan.probe_tasks(self.cfg)
            records = sum(len(t.records) for t in self.tasks)
            if self.local and records <= DRIVER_PROBE_MAX:
                log.info("probing %d records in the driver (local mode)", records)
                self.results = [plan.run_probe(t) for t in self.tasks]
        except BaseException as exc:  # re-raised in the main thread by `collect`
            self.error = exc

    def collect(self, sc: SparkContext) -> list[list[plan.ProbeResult]]:
        """The probe results: the driver's, or those of a Spark job over the probe tasks."""
        self.join()
        if self.error is not None:
            raise self.error
        if self.results is not None:
            return self.results
        records = sum(len(t.records) for t in self.tasks)
        log.info("probing %d records in %d Spark tasks", records, len(self.tasks))
        sc.setJobDescription(f"probe {len(self.tasks)} chunks of records")
        return sc.parallelize(self.tasks, len(self.tasks)).map(plan.run_probe).collect()


def run_shards(
    sc: SparkContext, todo: list[plan.ShardTask], total: int, shards_per_task: int
) -> list[shard.ShardResult]:
    """The shard stage: one Spark task per group of up to `shards_per_task` shards (a Spark task
    costs ~25 ms of overhead in local mode, an eighth of a 1000-sample shard), groups balanced by
    estimated cost and started longest first; progress on the driver while it runs."""
    if not todo:
        return []
    groups = plan.task_groups(todo, plan.group_count(len(todo), sc.defaultParallelism, shards_per_task))
    sc.setJobDescription(f"build {len(todo)} shards in {len(groups)} tasks")
    log.info("building %d shards in %d Spark tasks", len(todo), len(groups))
    counters = Counters(sc.accumulator(0), sc.accumulator(0), sc.accumulator(0))
    progress = ProgressThread(counters, Progress(total, total - len(todo)))
    progress.start()
    try:
        outcomes = sc.parallelize(groups, len(groups)).flatMap(counted_build(counters)).collect()
    finally:
        progress.stop()
    errors = [o for o in outcomes if isinstance(o, str)]
    if errors:
        raise BuildError(errors[0])
    return [o for o in outcomes if not isinstance(o, str)]


def build(sc: SparkContext, cfg: config.BuildConfig, probe: Probe,
          shards_per_task: int = SHARDS_PER_TASK) -> plan.Plan:
    """Probe (`probe` was started before the context), plan and build the pending shards with
    Spark; returns the plan."""
    the_plan = plan.make_plan(cfg, probe.collect(sc))
    todo = plan.pending(cfg, the_plan) if cfg.resume else list(the_plan.tasks)
    log.info("building %d of %d shards on %s", len(todo), len(the_plan.tasks), sc.master)
    results = run_shards(sc, todo, len(the_plan.tasks), shards_per_task)
    log.info("built %d shards: %d samples, %d rejected records", len(results),
             sum(r.samples for r in results), sum(len(r.rejects) for r in results))
    return the_plan


def fail(exc: Exception) -> NoReturn:
    """Exit 1 with the error's message (bad input under --on-error fail, unusable OUT)."""
    click.echo(f"build_shards: error: {exc}", err=True)
    sys.exit(1)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@config.build_options
@click.option("--master", default=None, metavar="URL",
              help="Spark master: local[N], spark://HOST:PORT, yarn, k8s://... (default: spark.master from "
                   "--spark-conf, spark-submit's --master or spark-defaults.conf, else local[*]).")
@click.option("--spark-conf", "spark_conf", multiple=True, metavar="KEY=VALUE",
              help="Extra Spark config, repeatable (e.g. --spark-conf spark.executor.memory=2g).")
@click.option("--shards-per-task", type=click.IntRange(min=1), default=SHARDS_PER_TASK, show_default=True,
              help="Shards one Spark task builds, one after the other (fewer tasks, less Spark overhead; "
                   "groups are balanced by estimated cost). Output does not depend on it.")
@click.option("-v", "--verbose", count=True, help="Debug log output.")
def main(master: str | None, spark_conf: tuple[str, ...], shards_per_task: int, verbose: int,
         **options: Any) -> None:
    """Build WebDataset shards from a dataset's native files with Spark.

    Same options, plan and bytes as `flmprep build`. Exit status: 0 ok; 1 on a bad record under
    --on-error fail or unusable input; 2 on bad options; 3 when rejected/input records exceed
    --max-reject-ratio (after writing everything).
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    pairs = parse_spark_conf(spark_conf)
    try:
        cfg = config.from_options(**options)
        config.prepare_output(cfg)
        conf = make_conf(master, pairs)
        gateway = launch_gateway()  # spark-submit's JVM (or a new one): its spark.master is known now
        local = master_of(conf, gateway).startswith("local")  # executors see the driver's files
        probe = Probe(cfg, local)
        probe.start()
        sc = spark_context(conf, gateway)
        try:
            the_plan = build(sc, cfg, probe, shards_per_task)
        finally:
            sc.stop()  # every task attempt ends with its executor: nothing writes into OUT after this
        manifest = finalize.finalize(cfg, the_plan)  # removes what killed attempts left, writes last
    except ConfigError as exc:  # bad options, a non-empty OUT, --resume over changed records
        raise click.UsageError(str(exc)) from exc
    except FlmprepError as exc:
        fail(exc)
    click.echo(summary_table(manifest))
    sys.exit(finalize.exit_status(cfg, manifest))


if __name__ == "__main__":
    main()
