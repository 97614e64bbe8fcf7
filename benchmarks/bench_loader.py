"""Benchmark the trainer's streaming loader beside the bare codec, and training steps.

1. Per loader worker (one process, one core): samples/s of the raw tar read (the
   trainer's reader, ``flmprep.shards.reader``, vs webdataset's tar iterator), of the bare JPEG decode
   (simplejpeg, cv2) and of the whole loader path (read, shuffle, JSON, decode, batch)
   for 96×96 and 256×256 shards, all in the same run.
2. Training images/s for ``vanilla96`` and ``resnet18`` on the available device, with the
   loader's share of step time (time spent waiting for the next batch over the whole step).

Run: ``.venv/bin/python -m benchmarks.bench_loader [--train-steps N]`` from the repository root.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import simplejpeg
import torch
import webdataset as wds

from benchmarks._common import machine, table
from flmprep.data import Segment, read_segment
from flmprep.data.loader import LandmarkDataset, make_loader
from flmprep.train.models import ModelSpec, build_model, decode_points, place, prepare_images
from flmprep.train.predict import batch_loss
from tests.helpers import golden

K = 98


def _photo(rng: np.random.Generator, size: int) -> np.ndarray:
    """Photo-like detail: smoothed noise over gradients."""
    noise = cv2.GaussianBlur(rng.integers(0, 255, (size, size, 3), dtype=np.uint8), (0, 0), 1.5)
    yy, xx = np.mgrid[0:size, 0:size]
    base = np.stack([xx * 200 // size, yy * 200 // size, (xx + yy) * 100 // (2 * size)], axis=2)
    return np.clip(base * 0.6 + noise * 0.4, 0, 255).astype(np.uint8)


def _doc(key: str, size: int, rng: np.random.Generator) -> bytes:
    pts = rng.uniform(0, size - 1, (K, 2))
    doc = {
        "schema": "flmprep.sample/2",
        "key": key,
        "dataset": "wflw",
        "split": "train",
        "scheme": "wflw98",
        "image": {"format": "jpg", "width": size, "height": size, "channels": 3},
        "landmarks": np.round(pts, 4).tolist(),
        "visible": [True] * K,
        "bbox": [0, 0, size - 1, size - 1],
        "transform": [[0.5, 0.0, -10.0], [0.0, 0.5, -20.0]],
        "attributes": {"pose": 0, "blur": 1},
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


SHARD = "train/shard-0000.tar"


def write_build(out: Path, size: int, count: int, seed: int = 0) -> list[bytes]:
    """A built dataset at ``out`` of one train shard of ``count`` samples (JPEG q95 + JSON);
    returns the JPEG payloads."""
    rng = np.random.default_rng(seed)
    jpegs = [simplejpeg.encode_jpeg(_photo(rng, size), quality=95, colorspace="RGB") for _ in range(count)]
    members: golden.Members = []
    for i, jpg in enumerate(jpegs):
        key = f"bench_{i:06d}_f0_v00"
        members += [(f"{key}.jpg", jpg), (f"{key}.json", _doc(key, size, rng))]
    golden.write_dataset(out, {"train": [members]}, dataset="wflw", scheme="wflw98", recipe="wflw")
    return jpegs


def _timed(fn: object, count: int, rounds: int = 5) -> float:
    """Best-of-``rounds`` items/s of ``fn()`` that processes ``count`` items."""
    best = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        best = max(best, count / (time.perf_counter() - t0))
    return best


def _wds_raw(path: Path) -> int:
    return sum(1 for _ in wds.WebDataset(str(path), shardshuffle=False))


def loader_rates(folder: Path, size: int, count: int) -> list[str]:
    """One table row of per-worker rates for a shard of ``size``² images."""
    out = folder / f"s{size}"
    jpegs = write_build(out, size, count)
    seg = Segment(SHARD, 0, count)
    raw = _timed(lambda: sum(1 for _ in read_segment(out, seg)), count)
    raw_wds = _timed(lambda: _wds_raw(out / SHARD), count)
    sj = _timed(lambda: [simplejpeg.decode_jpeg(j, colorspace="RGB") for j in jpegs], count)
    cv = _timed(lambda: [cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR) for j in jpegs], count)
    dataset = LandmarkDataset(out, "train", batch_size=64, shuffle=True, drop_last=False, shuffle_buffer=1000,
                              rank=0, world=1)
    full = _timed(lambda: sum(len(b) for b in make_loader(dataset)), count)
    return [
        f"{size}×{size}",
        f"{raw:,.0f}",
        f"{raw_wds:,.0f}",
        f"{sj:,.0f}",
        f"{cv:,.0f}",
        f"{full:,.0f}",
        f"{full / sj:.2f}",
    ]


def _forever(loader_factory: object) -> Iterator[object]:
    while True:
        yield from loader_factory()  # type: ignore[operator]


def train_rates(folder: Path, model: str, size: int, steps: int, batch: int, workers: int) -> list[str]:
    """Images/s of training steps fed by the loader, and the loader's share of step time."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    count = batch * 8
    out = folder / f"t{size}"
    if not out.exists():
        write_build(out, size, count, seed=1)
    spec = ModelSpec(model, K, size, size)
    net = place(build_model(spec), device)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    amp = device.type == "cuda"
    dataset = LandmarkDataset(out, "train", batch_size=batch, shuffle_buffer=256, rank=0, world=1)
    batches = _forever(lambda: make_loader(dataset, workers, pin_memory=amp))
    wait = total = 0.0
    for step in range(steps + 2):
        t0 = time.perf_counter()
        cpu = next(batches)
        t1 = time.perf_counter()
        b = cpu.to(device, non_blocking=True)  # type: ignore[attr-defined]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            out = net(prepare_images(b.images))
        loss = batch_loss(out, b, spec, "mse" if model == "vanilla96" else "log1p_l2")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        decode_points(out.detach(), spec)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step >= 2:
            wait, total = wait + (t1 - t0), total + (time.perf_counter() - t0)
    dev = (
        torch.cuda.get_device_name() if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    )
    return [
        model,
        f"{size}",
        dev,
        f"{batch}",
        f"{workers}",
        f"{steps * batch / total:,.1f}",
        f"{wait / total:.0%}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--count", type=int, default=2000, help="Samples per 96×96 shard (256×256: a quarter)."
    )
    parser.add_argument("--train-steps", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2, help="Loader workers for the training rows.")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    print(f"Machine: {machine()}, torch {torch.__version__}, simplejpeg {simplejpeg.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = [loader_rates(folder, 96, args.count), loader_rates(folder, 256, args.count // 4)]
        header = ["images", "tar read (flmprep.shards.reader)", "tar read (webdataset)", "decode simplejpeg"]
        header += ["decode cv2", "loader: read+JSON+decode+batch", "loader / bare decode"]
        table("Loader, one worker (samples/s)", header, rows)
        big = 64 if torch.cuda.is_available() else 8
        train = [
            train_rates(folder, "vanilla96", 96, args.train_steps, 64, args.workers),
            train_rates(folder, "resnet18", 256, args.train_steps, big, args.workers),
        ]
        table(
            "Training (images/s, loader share of step time)",
            ["model", "size", "device", "batch", "workers", "images/s", "loader share"],
            train,
        )


if __name__ == "__main__":
    main()
