"""End-to-end samples/s of `spark-submit jobs/build_shards.py` (CelebA ×20, 96×96) on local[2].

Printed beside 2× the single-core bare kernel measured in the same run (decode each source once,
20 × (crop matrix, warp to 96×96, JPEG q95 encode), tar write), their ratio (target ≥ 0.8), and
the share of the wall time spent before the Spark context was up (JVM start-up). To tell the
engine's cost from the library's, it also prints `build_shard` on one core in this process, the
rate of the Spark shard stage alone and the core-seconds its shard tasks took (from the driver's
log), and the fixed cost of the job (the same spark-submit on 3 images) with the best ratio that
fixed cost leaves at this size.

Run: `.venv/bin/python benchmarks/bench_build_spark.py [--n 6250]` (the default 25,000 images take
about 2 minutes to synthesize once, then the run about 1.5 minutes on 2 cores; the synthetic dataset is
cached under --work and reused).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from flmprep import geometry, imageio
from flmprep.formats import read_dataset
from flmprep.records import FaceRecord
from flmprep.shards.tarwriter import TarWriter

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CROPS = 20
SIZE = 96


@dataclass(frozen=True)
class SparkRun:
    """One spark-submit run: wall seconds, the driver's stages (`flmprep.builder.driver.Stages`, from
    its "stages:" log line) and the samples written. `before_python` is the wall time the driver's
    stages do not cover: spark-submit's JVM start, Python's start and imports, interpreter exit."""

    wall: float
    stages: dict[str, float]
    samples: int

    @property
    def rate(self) -> float:
        return self.samples / self.wall

    @property
    def before_python(self) -> float:
        return self.wall - sum(v for k, v in self.stages.items() if k not in ALONGSIDE)


def synth(data: Path, n: int) -> Path:
    """A synthetic CelebA (in the wild) of `n` images, made once and reused."""
    if not (data / "Eval" / "list_eval_partition.txt").is_file():
        shutil.rmtree(data, ignore_errors=True)
        subprocess.run([str(BIN / "flmprep"), "synth", "celeba", str(data), "--n", str(n), "--seed", "0"],
                       check=True, stdout=subprocess.DEVNULL)
    return data


def crop_matrix(record: FaceRecord, rng: np.random.Generator) -> np.ndarray:
    """A jittered square crop of ~2× the landmark box, mapped to SIZE×SIZE."""
    pts = np.asarray(record.landmarks, dtype=np.float64)
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    side = 2.0 * max(x1 - x0, y1 - y0, 8.0) * rng.uniform(0.9, 1.1)
    cx, cy = (x0 + x1) / 2 + rng.uniform(-0.1, 0.1) * side, (y0 + y1) / 2 + rng.uniform(-0.1, 0.1) * side
    return geometry.box_to_output((cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2), SIZE, SIZE)


def bare_kernel(data: Path, images: int) -> float:
    """Single-core samples/s: decode once, CROPS × (matrix, warp, encode q95), tar write (in memory)."""
    records = [r for r in read_dataset("celeba", data) if r.split == "train"][:images]
    rng = np.random.default_rng(0)
    writer = TarWriter(io.BytesIO())
    start = time.perf_counter()
    for rec in records:
        pixels = imageio.decode((data / rec.image).read_bytes()).pixels
        for view in range(CROPS):
            out = geometry.warp_image(pixels, crop_matrix(rec, rng), (SIZE, SIZE))
            writer.add(f"{rec.key}_v{view:02d}.jpg", imageio.encode(out, "jpg", 95))
    writer.close()
    return len(records) * CROPS / (time.perf_counter() - start)


def spark_build(data: Path, out: Path, master: str, log: Path) -> SparkRun:
    """Run the job once; the stages come from the driver's "stages:" log line."""
    cmd = [str(BIN / "spark-submit"), "--master", master, "--conf", "spark.ui.enabled=false",
           str(ROOT / "jobs" / "build_shards.py"), "--dataset", "celeba", "--crops", str(CROPS),
           "--root", str(data), "--out", str(out), "--overwrite"]
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable,
               PYSPARK_DRIVER_PYTHON=sys.executable, PATH=f"{BIN}:{os.environ.get('PATH', '')}")
    t0 = time.time()
    with log.open("wb") as fh:
        subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, check=True)
    wall = time.time() - t0
    samples = json.loads((out / "manifest.json").read_bytes())["totals"]["samples"]
    return SparkRun(wall, stages_of(log.read_text("utf-8", "replace"), log), int(samples))


STAGE_NAMES = {"start-up": "startup", "reading annotations alongside": "read", "probe": "probe",
               "plan": "plan", "shards": "shards", "building": "building", "shutdown": "shutdown",
               "finalize": "finalize"}
#: Figures of the stages line that overlap the others' wall time (not stages of their own).
ALONGSIDE = ("read", "building")


def stages_of(text: str, log: Path) -> dict[str, float]:
    """The driver's stage seconds from its "stages: start-up 1.23 s (...), probe ..." line, and the
    core-seconds of its shard tasks ("building")."""
    line = next((ln for ln in text.splitlines() if "flmprep.builder.driver: stages:" in ln), None)
    if line is None:
        raise RuntimeError(f"{log}: expected the driver's 'stages:' log line, found none")
    found = dict(re.findall(r"([a-z][a-z -]*?) (\d+\.\d+) (?:core-)?s\b", line.split("stages:", 1)[1]))
    return {STAGE_NAMES[k.strip(" (")]: float(v) for k, v in found.items() if k.strip(" (") in STAGE_NAMES}


def library_rate(data: Path, work: Path, shards: int = 6) -> float:
    """Single-core samples/s of `build_shard` on the first training shards, in this process."""
    from flmprep.builder import config, outdir, plan, shard, worker

    worker.tune_process()
    cfg = config.from_options(dataset="celeba", root=str(data), out=str(work / "inproc"), crops=CROPS,
                              splits="train", overwrite=True)
    outdir.prepare(cfg)
    the_plan = plan.make_plan(cfg, [plan.run_probe(t) for t in plan.probe_tasks(cfg)[:1]])
    start = time.perf_counter()
    samples = sum(shard.build_shard(task).samples for task in the_plan.tasks[:shards])
    return samples / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=25000,
                        help="synthetic images (25000 → 405,000 samples; 6250 → 101,250)")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--kernel-images", type=int, default=300, help="images for the bare kernel")
    parser.add_argument("--work", type=Path, default=Path("/tmp/flmprep-bench-spark"))
    args = parser.parse_args()
    cv2.setNumThreads(1)
    args.work.mkdir(parents=True, exist_ok=True)
    data = synth(args.work / f"celeba-{args.n}", args.n)
    load = os.getloadavg()[0]
    kernel = bare_kernel(data, args.kernel_images)
    library_before = library_rate(data, args.work)
    run = spark_build(data, args.work / "out", args.master, args.work / "spark.log")
    tiny_data = synth(args.work / "celeba-3", 3)
    tiny = spark_build(tiny_data, args.work / "out-3", args.master, args.work / "spark-3.log")
    kernel_after = bare_kernel(data, args.kernel_images)
    library_after = library_rate(data, args.work)
    library = (library_before + library_after) / 2
    two_cores = 2 * (kernel + kernel_after) / 2
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} before / {os.getloadavg()[0]:.1f} after; "
          f"Python {sys.version.split()[0]}, OpenCV {cv2.__version__}")
    print(f"samples written:                {run.samples:,}")
    print(f"spark-submit wall:              {run.wall:.1f} s ({args.master})")
    print(f"end-to-end:                     {run.rate:,.0f} samples/s")
    print(f"bare kernel, 1 core:            {kernel:,.0f} / {kernel_after:,.0f} samples/s (before / after)")
    print(f"2 × bare kernel:                {two_cores:,.0f} samples/s")
    print(f"ratio end-to-end / 2 × kernel:  {run.rate / two_cores:.2f} (target ≥ 0.8)")
    st = run.stages
    print(f"spark-submit + Python start-up: {run.before_python:.1f} s = "
          f"{100 * run.before_python / run.wall:.0f} % of the wall (JVM launch, imports, exit)")
    print(f"context + Python workers up:    {st['startup']:.1f} s (annotations read alongside in "
          f"{st['read']:.1f} s)")
    print(f"probe + plan after start-up:    {st['probe'] + st['plan']:.1f} s")
    stage = run.samples / st["shards"]
    print(f"shard stage:                    {st['shards']:.1f} s, {stage:,.0f} samples/s = "
          f"{stage / (2 * library):.2f} × 2 × in-process build_shard (target ≥ 0.9), "
          f"{stage / two_cores:.2f} × 2 × kernel")
    busy = st["building"] / (2 * st["shards"])
    print(f"  of which building shards:     {st['building']:.1f} core-s = {busy:.0%} of 2 cores × the stage "
          f"(the rest: Spark's task overhead and tail)")
    print(f"shutdown + finalize:            {st['shutdown']:.1f} + {st['finalize']:.1f} s")
    bound = run.samples / (tiny.wall + run.samples / two_cores) / two_cores
    print(f"fixed cost:                     {tiny.wall:.1f} s (the same job on 3 images); with it, a shard "
          f"stage at 2 × kernel gives at most {bound:.2f} at this size")
    print(f"build_shard, 1 core, in-process: {library_before:,.0f} / {library_after:,.0f} samples/s "
          f"(before / after) = {2 * library / two_cores:.2f} × the bare kernel")


if __name__ == "__main__":
    main()
