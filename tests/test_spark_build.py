"""jobs/build_shards.py under spark-submit: byte-identical output on local[1], local[2], `flmprep build`,
a standalone cluster of two workers (one of them SIGKILLed mid-job), and after a driver SIGKILL + --resume.

Each comparison covers every file under OUT. Kills are timed from the output folder (sidecars written),
never by sleeping. One build config throughout; its shards are slow enough (256×256 heatmaps) that a
kill lands mid-job.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.spark import (
    JOB,
    Daemon,
    StandaloneCluster,
    group_alive,
    spark_available,
    spark_env,
    start_submit,
    submit,
    tail,
    tree_files,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not spark_available(), reason="needs a JDK and pyspark"),
]

BUILD = ["--dataset", "celeba", "--crops", "20", "--samples-per-shard", "40", "--seed", "7",
         "--heatmaps", "--heatmap-size", "256"]
FLMPREP = Path(sys.executable).parent / "flmprep"


def job_args(data: Path, out: Path, *extra: str) -> list[str]:
    return [*BUILD, "--root", str(data), "--out", str(out), *extra]


def run_job(work: Path, data: Path, out: Path, master: str | None, *extra: str) -> str:
    """spark-submit the job to completion; returns its output (spark-submit sends the Python driver's
    stderr, hence its log, to stdout)."""
    result = submit(JOB, job_args(data, out, *extra), work, master=master, timeout=240)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"job failed ({result.returncode}):\n{output[-4000:]}"
    assert "input records" in result.stdout, output
    return output


def sidecars(out: Path) -> int:
    return len(list(out.glob("*/shard-*.json")))


def wait_for_sidecars(out: Path, count: int, proc: subprocess.Popen[bytes], log: Path) -> int:
    """Block until `count` shard sidecars exist under `out`; returns how many there were."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        found = sidecars(out)
        if found >= count:
            return found
        assert proc.poll() is None, f"job ended before {count} shards were written:\n{tail(log)}"
        time.sleep(0.02)
    raise AssertionError(f"no {count} sidecars under {out} after 180 s:\n{tail(log)}")


def total_shards(files: dict[str, bytes]) -> int:
    manifest = json.loads(files["manifest.json"])
    return sum(len(split["shards"]) for split in manifest["splits"].values())


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spark")


@pytest.fixture(scope="module")
def dataset(work: Path) -> Path:
    """A synthetic CelebA (in the wild) of 40 images."""
    data = work / "celeba"
    cmd = [str(FLMPREP), "synth", "celeba", str(data), "--n", "40", "--seed", "1"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return data


@pytest.fixture(scope="module")
def reference(work: Path, dataset: Path) -> dict[str, bytes]:
    """Every file of an uninterrupted local[2] build."""
    out = work / "local2"
    log = run_job(work, dataset, out, "local[2]")
    files = tree_files(out)
    n = total_shards(files)
    assert n > 8
    assert f"building {n} of {n} shards on local[2]" in log
    # the driver probed every record while Spark started: no probe job
    assert re.search(r"probed (\d+) of \1 records in the driver while local\[2\] started", log), log
    assert "Spark tasks\n" not in log.split("building")[0]
    assert f"building {n} shards in {2 * -(-n // 16)} Spark tasks" in log  # groups of up to 8, even
    # both Python workers started before the first shard task; the stop left nothing behind
    assert re.search(r"Python workers up in \d+\.\d+ s: 2 processes", log.split("building")[0]), log
    assert re.search(r"shards \d+\.\d+ s \(building \d+\.\d+ core-s\)", log), log
    assert "Traceback" not in log and "Exception" not in log, log[-4000:]
    return files


def test_local1_equals_local2(work: Path, dataset: Path, reference: dict[str, bytes]) -> None:
    """The job's own --master wins over spark-submit's default; one Spark task per shard (the
    reference groups 8) gives the same bytes."""
    out = work / "local1"
    log = run_job(work, dataset, out, None, "--master", "local[1]", "--shards-per-task", "1")
    assert "on local[1]" in log
    n = total_shards(reference)
    assert f"building {n} shards in {n} Spark tasks" in log
    assert tree_files(out) == reference


def test_flmprep_build_equals_spark(work: Path, dataset: Path, reference: dict[str, bytes]) -> None:
    out = work / "pool"
    cmd = [str(FLMPREP), "build", *job_args(dataset, out), "--workers", "2", "--no-progress"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert tree_files(out) == reference


def test_driver_sigkill_then_resume(work: Path, dataset: Path, reference: dict[str, bytes]) -> None:
    """SIGKILL the driver's process group mid-build (no master given: local[*]), then --resume
    (master from --spark-conf spark.master)."""
    out, log = work / "resumed", work / "killed-driver.log"
    proc = start_submit(JOB, job_args(dataset, out), work, log)
    try:
        done = wait_for_sidecars(out, 3, proc, log)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert done < total_shards(reference), "the build finished before the kill"
    assert not (out / "manifest.json").exists()
    assert "on local[*]" in log.read_text("utf-8", "replace")
    resumed = run_job(work, dataset, out, None, "--resume", "--spark-conf", "spark.master=local[2]")
    assert "on local[2]" in resumed
    assert f"of {total_shards(reference)} shards" in resumed
    assert f"building {total_shards(reference)} of" not in resumed, "resume rebuilt every shard"
    assert tree_files(out) == reference


def test_undecodable_image_under_on_error_fail_names_the_record(work: Path, dataset: Path) -> None:
    """A JPEG that passes the header probe but fails its full decode inside a shard task: the
    executor hands the failure back and the driver exits 2 (an input error) naming the record."""
    data = work / "truncated"
    shutil.copytree(dataset, data)
    image = data / "img_celeba" / "000040.jpg"  # the last image: in the test split
    image.write_bytes(image.read_bytes()[: image.stat().st_size // 2])
    args = ["--dataset", "celeba", "--splits", "test", "--on-error", "fail", "--root", str(data),
            "--out", str(work / "truncated-out")]
    result = submit(JOB, args, work, master="local[1]", timeout=240)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert "build_shards: error: record celeba_000040_f0" in output
    assert "truncated_image" in output


@pytest.fixture(scope="module")
def cluster(work: Path) -> Iterator[StandaloneCluster]:
    """Master + 2 workers; on teardown no process of theirs may survive."""
    with StandaloneCluster(work / "cluster", workers=2) as running:
        groups = [d.proc.pid for d in running.daemons]
        yield running
    assert [g for g in groups if group_alive(g)] == []


def test_cluster_equals_local2(
    work: Path, dataset: Path, reference: dict[str, bytes], cluster: StandaloneCluster
) -> None:
    """With eager speculation, so that slow shards are likely to get a concurrent second attempt."""
    out = work / "cluster-out"
    speculate = ["spark.speculation=true", "spark.speculation.multiplier=1.0",
                 "spark.speculation.quantile=0.1", "spark.speculation.minTaskRuntime=50ms",
                 "spark.speculation.interval=50ms"]
    conf = [arg for pair in speculate for arg in ("--spark-conf", pair)]
    log = run_job(work, dataset, out, cluster.master_url, *conf)
    assert f"on {cluster.master_url}" in log
    assert re.search(r"probing \d+ records in \d+ Spark tasks", log) and "in the driver" not in log
    assert tree_files(out) == reference


def test_cluster_survives_a_killed_worker(
    work: Path, dataset: Path, reference: dict[str, bytes], cluster: StandaloneCluster
) -> None:
    """SIGKILL a worker's JVM while its executor is writing a shard (a temporary shard file named
    by a Python worker in its process tree exists): Spark reschedules the task on the other one."""
    out, log = work / "cluster-killed", work / "killed-worker.log"
    args = job_args(dataset, out, "--spark-conf", "spark.log.level=INFO")  # to see the lost task
    proc = start_submit(JOB, args, work, log, master=cluster.master_url)
    try:
        victim = wait_for_writing_worker(cluster, out, proc, log)
        os.kill(victim.proc.pid, signal.SIGKILL)
        code = proc.wait(timeout=240)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = log.read_text("utf-8", "replace")
    assert code == 0, tail(log, 60)
    assert "Lost executor" in text
    assert "failed because while it was being computed, its executor exited" in text
    assert tree_files(out) == reference


def wait_for_writing_worker(
    cluster: StandaloneCluster, out: Path, proc: subprocess.Popen[bytes], log: Path
) -> Daemon:
    """The cluster worker whose Python worker is writing a shard now (`shard-*.tar.<pid>-*.tmp`)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        for tmp in out.glob("*/shard-*.tar.*.tmp"):
            pid = int(tmp.name.split(".")[2].split("-")[0])
            owner = cluster.owner(pid)
            if owner is not None and owner.name.startswith("worker"):
                return owner
        assert proc.poll() is None, f"job ended before a worker was seen writing:\n{tail(log)}"
        time.sleep(0.01)
    raise AssertionError(f"no worker seen writing under {out} after 180 s:\n{tail(log)}")


def test_env_points_at_this_python(work: Path) -> None:
    env = spark_env(work)
    assert env["PYSPARK_PYTHON"] == sys.executable
    assert Path(env["SPARK_HOME"], "bin", "spark-class").is_file()


def _replace_field(path: Path, line: int, field: int, value: str) -> None:
    lines = path.read_bytes().split(b"\r\n")
    parts = lines[line - 1].split()
    parts[field] = value.encode()
    lines[line - 1] = b" ".join(parts)
    path.write_bytes(b"\r\n".join(lines))


def test_hostile_records_under_spark_are_rejects_and_nothing_is_lost(work: Path, dataset: Path) -> None:
    """The readers' hostile numbers and the images' hostile files, under spark-submit with
    --on-error skip: each is one reject with its reason, input = written + rejected (recounted with
    tarfile), and no byte of a file outside the root reaches the output."""
    import tarfile

    data = work / "hostile"
    shutil.copytree(dataset, data)
    landmarks = data / "Anno/list_landmarks_celeba.txt"
    _replace_field(landmarks, 3, 1, "9" * 400)  # record 1: beyond float64
    _replace_field(landmarks, 4, 2, "9" * 40)  # record 2: beyond float32 only
    secret = work / "secret.jpg"
    secret.write_bytes(b"SECRET-BYTES" * 100)
    (data / "img_celeba/000003.jpg").unlink()
    (data / "img_celeba/000003.jpg").symlink_to(secret)  # record 3: out of the root
    (data / "img_celeba/000004.jpg").write_bytes(b"")  # record 4: empty
    out = work / "hostile-out"
    args = ["--dataset", "celeba", "--crops", "2", "--root", str(data), "--out", str(out),
            "--max-reject-ratio", "0.5"]
    result = submit(JOB, args, work, master="local[1]", timeout=240)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Traceback" not in output
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    assert sorted((r["key"], r["reason"]) for r in rejects) == [
        ("celeba_000001_f0", "nonfinite_landmarks"), ("celeba_000002_f0", "nonfinite_landmarks"),
        ("celeba_000003_f0", "path_outside_root"), ("celeba_000004_f0", "empty_file")]
    written = 0
    for shard in out.glob("*/shard-*.tar"):
        with tarfile.open(shard) as tar:
            members = tar.getmembers()
            written += len({m.name.split(".")[0].rsplit("_v", 1)[0] for m in members})
            assert all(b"SECRET-BYTES" not in tar.extractfile(m).read() for m in members)  # type: ignore[union-attr]
    assert written + len(rejects) == 40  # every record: a written face or a reject
    assert "secret" not in (out / "rejects.jsonl").read_text()


def test_the_shipped_spark_conf_sets_the_drivers_jvm_options_and_log_level(work: Path) -> None:
    """spark-submit with SPARK_CONF_DIR=jobs/spark-conf (what `make` and the Spark image install):
    the driver JVM runs with spark-defaults.conf's extraJavaOptions and Spark logs no INFO lines."""
    conf_dir = Path(JOB).parent / "spark-conf"
    lines = (conf_dir / "spark-defaults.conf").read_text().splitlines()
    defaults = dict(line.split(None, 1) for line in lines if line.strip() and not line.startswith("#"))
    wanted = defaults["spark.driver.extraJavaOptions"].split()
    script = work / "jvm_args.py"
    script.write_text("from pyspark import SparkContext\n"
                      "sc = SparkContext()\n"
                      "bean = sc._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()\n"
                      "print('JVM', ' '.join(bean.getInputArguments()))\n"
                      "sc.stop()\n")
    env = spark_env(work / "shipped", {"SPARK_CONF_DIR": str(conf_dir)})
    cmd = [str(Path(sys.executable).parent / "spark-submit"), "--master", "local[1]", "--conf",
           "spark.ui.enabled=false", str(script)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    args = next(line for line in result.stdout.splitlines() if line.startswith("JVM ")).split()[1:]
    assert wanted and all(flag in args for flag in wanted), (wanted, args)
    assert " INFO " not in result.stderr, result.stderr[-3000:]
