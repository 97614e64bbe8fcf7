"""Decoded samples/s of the public data API against webdataset written by hand, same shards, one
process (no loader workers), same run.

Shards: ``flmprep synth wflw`` + ``flmprep build`` at 96×96 (JPEG + JSON) and at 256×256 with
64×64 heatmaps (JPEG + JSON + ``hm.png``), 4 crops per training face. Rows, each reading the
train split into batches of 32 tensors (landmarks, visibility, transform, image, heatmaps):

- ``LandmarkDataset``: ``flmprep.data.LandmarkDataset`` + ``make_loader``;
- ``webdataset_pipeline``: the pipeline ``flmprep.data.webdataset_pipeline`` returns, batched by a
  ``DataLoader``;
- hand-tuned webdataset: ``wds.WebDataset`` with simplejpeg, orjson and an OpenCV heatmap-tile
  decoder written for the format, batched by a ``DataLoader`` (the target: ours ≥ this);
- webdataset ``decode("rgb")``: the obvious pipeline (PIL, float RGB images, heatmaps as RGB).

Rates are samples per CPU second of the one process (best of 5 passes). Run:
``.venv/bin/python -m benchmarks.bench_data [--images N]`` from the repository root.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import orjson
import simplejpeg
import torch
import webdataset as wds
from click.testing import CliRunner
from torch.utils.data import DataLoader

from benchmarks._common import machine, table
from flmprep.cli import main as cli
from flmprep.data import LandmarkDataset, make_loader, open_dataset, webdataset_pipeline
from flmprep.targets import tile_grid

BATCH = 32


def build(folder: Path, images: int, size: int, heatmaps: bool) -> Path:
    """A WFLW build of ``size``² crops (with 64×64 heatmaps when asked)."""
    runner = CliRunner()
    syn = folder / "syn"
    if not syn.exists():
        done = runner.invoke(cli, ["synth", "wflw", str(syn), "--n", str(images), "--seed", "1"])
        assert done.exit_code == 0, done.output
    out = folder / f"out{size}"
    args = ["build", "--dataset", "wflw", "--root", str(syn), "--out", str(out), "--splits", "train",
            "--out-size", str(size), "--crops", "4", "--no-progress"] + (["--heatmaps"] if heatmaps else [])
    done = runner.invoke(cli, args)
    assert done.exit_code == 0, done.output
    return out


def _tiles(data: bytes, k: int) -> np.ndarray:
    """Hand-written heatmap decoder: the grey tile sheet cut into [K, h, w] floats."""
    cols, rows = tile_grid(k)
    grey = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert grey is not None
    h, w = grey.shape[0] // rows, grey.shape[1] // cols
    return (grey.reshape(rows, h, cols, w).transpose(0, 2, 1, 3).reshape(-1, h, w)[:k]
            .astype(np.float32) / 255)


def hand_tuned(urls: list[str], k: int, heatmaps: bool) -> wds.WebDataset:
    """What a careful user writes with webdataset for these shards."""
    def arrays(sample: dict[str, Any]) -> dict[str, Any]:
        meta = sample["json"]
        out = {"image": sample["jpg"], "landmarks": np.asarray(meta["landmarks"], np.float32),
               "visible": np.asarray(meta["visible"], bool),
               "transform": np.asarray(meta["transform"], np.float64)}
        if heatmaps:
            out["heatmaps"] = sample["hm.png"]
        return out

    handlers = [wds.handle_extension("hm.png", lambda d: _tiles(d, k)),
                wds.handle_extension("jpg", lambda d: simplejpeg.decode_jpeg(d, colorspace="RGB")),
                wds.handle_extension("json", orjson.loads)]
    return (wds.WebDataset(urls, shardshuffle=False, empty_check=False).shuffle(256)
            .decode(*handlers).map(arrays))


def obvious(urls: list[str], heatmaps: bool) -> wds.WebDataset:
    members = ("jpg", "hm.png", "json") if heatmaps else ("jpg", "json")
    return (wds.WebDataset(urls, shardshuffle=False, empty_check=False).shuffle(256).decode("rgb")
            .to_tuple(*members))


def _collate_obvious(batch: list[tuple[Any, ...]]) -> Any:
    """Images (and heatmap images) stacked, landmarks as tensors."""
    images = range(len(batch[0]) - 1)
    arrays = [torch.stack([torch.from_numpy(sample[i]) for sample in batch]) for i in images]
    return arrays, torch.tensor([sample[-1]["landmarks"] for sample in batch])


def _samples_per_s(loader: Callable[[], Iterable[Any]], count: int, rounds: int = 5) -> float:
    """Best of ``rounds`` passes, per CPU second of this process (one thread, no loader
    workers), so that other jobs on a shared machine disturb the figures little."""
    best = 0.0
    for _ in range(rounds):
        t0 = time.process_time()
        batches = sum(1 for _ in loader())
        assert batches == -(-count // BATCH)
        best = max(best, count / (time.process_time() - t0))
    return best


def rates(out: Path, heatmaps: bool) -> list[list[str]]:
    built = open_dataset(out)
    count = built.samples("train")
    urls, k = built.urls("train"), built.num_points

    def ours_torch() -> Iterable[Any]:
        return make_loader(LandmarkDataset(out, "train", batch_size=BATCH, drop_last=False, rank=0, world=1))

    def ours_wds() -> Iterable[Any]:
        pipeline = webdataset_pipeline(out, "train", batch_size=BATCH, drop_last=False, rank=0, world=1)
        return DataLoader(pipeline, batch_size=BATCH)

    def baseline() -> Iterable[Any]:
        return DataLoader(hand_tuned(urls, k, heatmaps), batch_size=BATCH)

    def naive() -> Iterable[Any]:
        return DataLoader(obvious(urls, heatmaps), batch_size=BATCH, collate_fn=_collate_obvious)

    measured = {name: _samples_per_s(fn, count) for name, fn in
                (("LandmarkDataset", ours_torch), ("webdataset_pipeline", ours_wds),
                 ("hand-tuned webdataset", baseline), ('webdataset decode("rgb")', naive))}
    base = measured["hand-tuned webdataset"]
    size = open_dataset(out).manifest.config["recipe_config"]["out_size"]
    label = f"{size}×{size}" + (" + heatmaps" if heatmaps else "")
    return [[label, name, f"{count}", f"{rate:,.0f}", f"{rate / base:.2f}"]
            for name, rate in measured.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=120,
                        help="Synthetic WFLW images (about 1.3 faces each).")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    print(f"Machine: {machine()}, torch {torch.__version__}, webdataset {wds.__version__}, "
          f"simplejpeg {simplejpeg.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = rates(build(folder, args.images, 96, False), False)
        rows += rates(build(folder, args.images, 256, True), True)
    table("Decoded samples/s, one process, batches of 32 (ratio: against hand-tuned webdataset)",
          ["shards", "reader", "samples", "samples/s", "ratio"], rows)


if __name__ == "__main__":
    main()
