"""Training and forward-only images/s of every model at its input size, on this CPU.

Per model (the registry's input size and points; shapenet with its listed 24 components):
batch 8 of random images and landmarks already in memory (no loader), ``torch.set_num_threads(2)``,
one warm-up step, then the mean over ``--steps`` of a training step (forward, the model's
default loss, backward, Adam step) and of a forward pass in eval mode without gradients,
both measured in the same run. Wall-clock time (two threads).

Run: ``.venv/bin/python -m benchmarks.bench_train [--steps N] [--models a,b]`` from the repository root.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from benchmarks._common import machine, table
from flmprep.data.loader import Batch
from flmprep.train.models import MODELS, build_model, count_parameters, place, prepare_images
from flmprep.train.models.listing import listed_spec
from flmprep.train.models.spec import ModelSpec
from flmprep.train.predict import batch_loss

BATCH = 8
THREADS = 2


def random_batch(spec: ModelSpec, generator: torch.Generator) -> Batch:
    """``BATCH`` random images of the spec's size and channels, landmarks inside them."""
    images = torch.randint(0, 256, (BATCH, spec.height, spec.width, spec.channels), dtype=torch.uint8,
                           generator=generator)
    size = torch.tensor([spec.width - 1.0, spec.height - 1.0])
    points = torch.rand(BATCH, spec.num_points, 2, generator=generator) * size
    return Batch(images, points, torch.ones(BATCH, spec.num_points, dtype=torch.bool),
                 torch.zeros(BATCH, 2, 3, dtype=torch.float64), [f"b{i}" for i in range(BATCH)])


def seconds_per_call(fn: Callable[[], object], steps: int) -> float:
    """Mean wall seconds of ``fn`` over ``steps`` calls after one warm-up call."""
    fn()
    began = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - began) / steps


def model_row(name: str, steps: int) -> list[str]:
    """One table row: model, input, points, parameters, train and forward images/s, ratio."""
    info = MODELS[name]
    spec = listed_spec(info, info.points)
    torch.manual_seed(0)
    model = place(build_model(spec), torch.device("cpu"))
    batch = random_batch(spec, torch.Generator().manual_seed(0))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def train_step() -> None:
        model.train()
        loss = batch_loss(model(prepare_images(batch.images)), batch, spec, info.loss)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    @torch.no_grad()
    def forward() -> None:
        model.eval()
        model(prepare_images(batch.images))

    train_rate = BATCH / seconds_per_call(train_step, steps)
    forward_rate = BATCH / seconds_per_call(forward, steps)
    c, h, w = info.input
    return [name, f"{c}×{h}×{w}", str(spec.num_points), f"{count_parameters(model):,}",
            f"{train_rate:.1f}", f"{forward_rate:.1f}", f"{forward_rate / train_rate:.1f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="Timed steps per model and mode.")
    parser.add_argument("--models", default=",".join(MODELS), help="Comma-separated model names.")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    names = [n for n in args.models.split(",") if n]
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        raise SystemExit(f"unknown models {', '.join(unknown)}; expected some of {', '.join(MODELS)}")
    print(f"Machine: {machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"batch {BATCH}, {args.steps} timed steps after one warm-up")
    rows = [model_row(name, args.steps) for name in names]
    header = ["model", "input", "points", "parameters", "train images/s", "forward images/s",
              "forward / train"]
    table("Training and forward-only throughput on CPU (images/s)", header, rows)


if __name__ == "__main__":
    main()
