"""spark-submit entry point: the Spark engine of flmprep's build driver, and its command line.

    spark-submit [--master URL] jobs/build_shards.py --dataset celeba --crops 20 --root DATA --out OUT

The sequence (read, probe, plan, build, finalize) is `flmprep.builder.driver.run_build`, shared
with `flmprep build`; this file only maps its probe and shard tasks on Spark. No image bytes pass
through the driver, and a retried or speculative task rewrites identical bytes. This is the only
module that imports pyspark.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import click
from py4j.java_gateway import JavaGateway
from py4j.protocol import Py4JError
from pyspark import SparkConf, SparkContext
from pyspark.accumulators import Accumulator
from pyspark.java_gateway import launch_gateway

from flmprep.builder import config, plan, shard, worker
from flmprep.builder.progress import Progress
from flmprep.cli.build_cmd import run_and_exit
from flmprep.cli.errors import GuardedCommand, exit_table

log = logging.getLogger("flmprep.jobs.build_shards")

#: Default --shards-per-task.
SHARDS_PER_TASK = 8


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
    began = time.perf_counter()
    sc = SparkContext(conf=conf, gateway=gateway)
    if not sc.getConf().contains("spark.log.level"):  # set by neither spark-submit nor --spark-conf
        sc.setLogLevel("WARN")
    log.info("Spark context up in %.2f s: master %s, default parallelism %d", time.perf_counter() - began,
             sc.master, sc.defaultParallelism)
    return sc


def warm_workers(sc: SparkContext) -> None:
    """Run one tiny task per core, so that the JVM's first-job costs are paid, and the Python
    workers are started, tuned and have imported the builder, before the first shard task (Spark
    reuses them). Part of start-up, which overlaps reading the annotations."""
    sc.setJobDescription("start the Python workers")
    began = time.perf_counter()
    pids = sc.parallelize(range(sc.defaultParallelism), sc.defaultParallelism).map(worker.warm).collect()
    log.info("Python workers up in %.2f s: %d processes", time.perf_counter() - began, len(set(pids)))


@dataclass(frozen=True)
class Counters:
    """Accumulators fed by finished shard tasks, for the progress bar only (a retried task may
    count twice; the summary comes from the sidecars)."""

    shards: Accumulator[int]
    samples: Accumulator[int]
    rejects: Accumulator[int]


def counted_build(counters: Counters) -> Callable[[list[plan.ShardTask]], list[shard.ShardOutcome]]:
    """The executor side of a Spark task: `run_shard_task` for each shard of its group, counted;
    a failure (--on-error fail) ends the group."""

    def run(group: list[plan.ShardTask]) -> list[shard.ShardOutcome]:
        worker.tune_process()  # one OpenCV thread (Spark's tasks are the parallelism), malloc
        outcomes: list[shard.ShardOutcome] = []
        for task in group:
            outcome = shard.run_shard_task(task)
            outcomes.append(outcome)
            if isinstance(outcome, shard.ShardFailure):
                break
            counters.shards.add(1)
            counters.samples.add(outcome.samples)
            counters.rejects.add(len(outcome.rejects))
        return outcomes

    return run


class ProgressThread(threading.Thread):
    """Feeds the driver's progress bar from the accumulators while Spark runs."""

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


class SparkEngine:
    """The Spark engine of the build driver. `start` launches spark-submit's JVM (its
    spark.master is then known), then the context and the Python workers. In local mode the driver
    probes records meanwhile (the executors see its files), and a Spark job probes the rest; on a
    cluster, probing is a Spark job."""

    def __init__(self, conf: SparkConf, shards_per_task: int = SHARDS_PER_TASK) -> None:
        self.conf, self.shards_per_task = conf, shards_per_task
        self.local: bool | None = None
        self._master_known = threading.Event()
        self._sc: SparkContext | None = None

    @property
    def name(self) -> str:
        return str(self._sc.master) if self._sc is not None else "Spark"

    def start(self) -> None:
        try:
            gateway = launch_gateway()  # spark-submit's JVM (or a new one)
            self.local = master_of(self.conf, gateway).startswith("local")  # executors see our files
        finally:
            self._master_known.set()
        self._sc = spark_context(self.conf, gateway)
        warm_workers(self._sc)

    def stop(self) -> None:
        """Stop the JVM side (every task attempt ends with its executor: nothing writes into OUT
        after this returns). The rest of `SparkContext.stop` only shuts PySpark's accumulator
        server, whose handler polls its flag once a second; it finishes in a daemon thread."""
        if self._sc is None:
            return
        sc, self._sc = self._sc, None
        try:
            sc._jsc.stop()
        except Py4JError as exc:  # the JVM is gone already (crashed or killed)
            log.warning("Spark's JVM did not stop cleanly: %s", str(exc).splitlines()[0])
        sc._jsc = None  # as SparkContext.stop leaves it: its own call skips the JVM side
        threading.Thread(target=sc.stop, name="flmprep-spark-stop", daemon=True).start()

    @property
    def sc(self) -> SparkContext:
        if self._sc is None:
            raise RuntimeError("SparkEngine: start() it first")
        return self._sc

    def probes_in_driver(self, records: int) -> bool:
        self._master_known.wait()
        if self.local:
            log.info("probing %d records in the driver while Spark starts (local mode)", records)
        return bool(self.local)

    def map_probes(self, tasks: Sequence[plan.ProbeTask]) -> list[list[plan.ProbeResult]]:
        log.info("probing %d records in %d Spark tasks", sum(len(t.records) for t in tasks), len(tasks))
        self.sc.setJobDescription(f"probe {len(tasks)} chunks of records")
        return self.sc.parallelize(list(tasks), len(tasks)).map(plan.run_probe).collect()

    def map_shards(self, tasks: Sequence[plan.ShardTask], progress: Progress) -> list[shard.ShardOutcome]:
        """One Spark task per group of up to `shards_per_task` shards (each Spark task has a fixed
        overhead), groups balanced by estimated cost and started longest first."""
        sc = self.sc
        groups = plan.task_groups(tasks, plan.group_count(len(tasks), sc.defaultParallelism,
                                                          self.shards_per_task))
        sc.setJobDescription(f"build {len(tasks)} shards in {len(groups)} tasks")
        log.info("building %d shards in %d Spark tasks", len(tasks), len(groups))
        counters = Counters(sc.accumulator(0), sc.accumulator(0), sc.accumulator(0))
        feed = ProgressThread(counters, progress)
        feed.start()
        try:
            return sc.parallelize(groups, len(groups)).flatMap(counted_build(counters)).collect()
        finally:
            feed.stop()


@click.command("build_shards", cls=GuardedCommand, prog="build_shards", epilog=exit_table(),
               context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
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

    Same options, plan and bytes as `flmprep build`.
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    conf = make_conf(master, parse_spark_conf(spark_conf))
    run_and_exit("build_shards", options, lambda cfg: SparkEngine(conf, shards_per_task))


if __name__ == "__main__":
    main()
