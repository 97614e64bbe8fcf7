"""Peak RSS of the Spark driver and executors for a 10-shard and a 100-shard build (same shard size).

`spark-submit --master local[2] jobs/build_shards.py` runs under a /proc poller that records the
peak RSS (VmHWM) of every process in its tree: the JVM (driver, and the executor in local mode),
the Python driver, and the Python workers (pyspark daemon and its forks) that run `build_shard`.
Flat numbers between the two builds show that no image bytes reach the driver and that an
executor holds one shard at a time.

Run: `.venv/bin/python benchmarks/bench_memory.py` (a few minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CROPS = 20
PER_SHARD = 200


@dataclass(frozen=True)
class Peaks:
    """Peak RSS in MiB per role, the process count seen, and the build's wall time."""

    jvm: float
    driver: float
    worker: float
    workers: int
    wall: float


def children() -> dict[int, list[int]]:
    """Parent pid → child pids, from /proc/*/stat."""
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> Iterator[int]:
    tree = children()
    stack = [pid]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(tree.get(current, []))


def peak_and_role(pid: int) -> tuple[float, str] | None:
    """(VmHWM in MiB, role) of a live process, or None when it is gone or not ours to measure."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return None
    hwm = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")), None)
    if hwm is None:
        return None
    if "java" in cmdline.split(" ", 1)[0]:
        role = "jvm"
    elif "build_shards.py" in cmdline:
        role = "driver"
    elif "pyspark.daemon" in cmdline or "pyspark/daemon" in cmdline:
        role = "worker"
    else:
        return None
    return int(hwm) / 1024, role


def measure(cmd: list[str], env: dict[str, str], log: Path) -> Peaks:
    """Run `cmd`, polling its process tree every 50 ms; peak RSS per role."""
    seen: dict[int, tuple[float, str]] = {}
    start = time.perf_counter()
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            for pid in descendants(proc.pid):
                found = peak_and_role(pid)
                if found is not None:
                    seen[pid] = found
            time.sleep(0.05)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"build failed ({proc.returncode}); see {log}")

    def peak(role: str) -> float:
        return max((mib for mib, r in seen.values() if r == role), default=0.0)

    workers = sum(1 for _, r in seen.values() if r == "worker")
    return Peaks(peak("jvm"), peak("driver"), peak("worker"), workers, wall)


def synth(data: Path, train_images: int) -> Path:
    """A synthetic CelebA with exactly `train_images` training images (synth holds out
    round(10 %) of the images for each of val and test)."""
    if not (data / "Eval" / "list_eval_partition.txt").is_file():
        shutil.rmtree(data, ignore_errors=True)
        n = next(n for n in range(train_images, 2 * train_images + 3)
                 if n - 2 * max(1, round(n / 10)) == train_images)
        subprocess.run([str(BIN / "flmprep"), "synth", "celeba", str(data), "--n", str(n), "--seed", "0"],
                       check=True, stdout=subprocess.DEVNULL)
    return data


def build(work: Path, shards: int, master: str) -> tuple[Peaks, int]:
    """Build `shards` train shards of PER_SHARD samples; (peaks, shards written)."""
    data = synth(work / f"celeba-{shards}", shards * PER_SHARD // CROPS)
    out = work / f"out-{shards}"
    cmd = [str(BIN / "spark-submit"), "--master", master, "--conf", "spark.ui.enabled=false",
           str(ROOT / "jobs" / "build_shards.py"), "--dataset", "celeba", "--crops", str(CROPS),
           "--splits", "train", "--samples-per-shard", str(PER_SHARD),
           "--root", str(data), "--out", str(out), "--overwrite"]
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable,
               PYSPARK_DRIVER_PYTHON=sys.executable, PATH=f"{BIN}:{os.environ.get('PATH', '')}")
    peaks = measure(cmd, env, work / f"spark-{shards}.log")
    manifest = json.loads((out / "manifest.json").read_bytes())
    return peaks, len(manifest["splits"]["train"]["shards"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--work", type=Path, default=Path("/tmp/flmprep-bench-memory"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} CPUs; {args.master}; {PER_SHARD} samples per shard, CelebA ×{CROPS}")
    print("| shards | samples | wall s | JVM (driver+executor) MiB | Python driver MiB | "
          "largest Python worker MiB | Python worker processes |")
    print("|---|---|---|---|---|---|---|")
    for shards in (10, 100):
        peaks, written = build(args.work, shards, args.master)
        print(f"| {written} | {written * PER_SHARD:,} | {peaks.wall:.1f} | {peaks.jvm:.0f} | "
              f"{peaks.driver:.0f} | {peaks.worker:.0f} | {peaks.workers} |")


if __name__ == "__main__":
    main()
