"""Assign a split's shards to ranks and loader workers, balanced by sample count.

The split is laid out as one virtual stream of samples: its shards in a seeded
order (seed, epoch), each shard's samples in tar order. Each rank takes a
contiguous slice of that stream and each loader worker a batch-aligned part of
its rank's slice, so a shard may be shared by several workers (by sample range)
and fewer shards than ranks × workers is fine.

Training (``drop_last=True``): every rank gets exactly ``steps × batch_size``
samples, ``steps = N // (world × batch_size)``; the remainder (fewer than
``world × batch_size`` samples) is dropped, from a window that moves with the
epoch, so no sample is seen twice and all ranks run the same number of steps.
Evaluation (``drop_last=False``): every sample exactly once; ranks may differ by
one batch and the last batch of a worker may be short.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from flmprep.errors import FlmprepError


@dataclass(frozen=True)
class ShardInfo:
    """One shard of a split as the manifest lists it (``path`` relative to the dataset root)."""

    path: str
    samples: int


@dataclass(frozen=True)
class Segment:
    """Samples ``start`` (inclusive) to ``stop`` (exclusive), in tar order, of one shard."""

    path: str
    start: int
    stop: int

    @property
    def samples(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class WorkerPlan:
    """What one loader worker of one rank reads in one epoch."""

    rank: int
    worker: int
    segments: tuple[Segment, ...]
    samples: int
    batches: int


@dataclass(frozen=True)
class EpochPlan:
    """Per rank, per worker plans for one epoch; ``steps[r]`` batches on rank ``r``."""

    workers: tuple[tuple[WorkerPlan, ...], ...]
    steps: tuple[int, ...]
    dropped: int


class BalanceError(FlmprepError, ValueError):
    """The split cannot feed the requested ranks × batch size."""


def shard_order(shards: Sequence[ShardInfo], seed: int, epoch: int, shuffle: bool) -> list[ShardInfo]:
    """The shards in this epoch's order: a permutation seeded by (seed, epoch), or as listed."""
    if not shuffle:
        return list(shards)
    rng = np.random.default_rng([seed, epoch, 0x5A4D])
    return [shards[i] for i in rng.permutation(len(shards))]


def _segments(order: Sequence[ShardInfo], begin: int, end: int) -> tuple[Segment, ...]:
    """The shard segments covering stream positions [begin, end)."""
    out: list[Segment] = []
    offset = 0
    for shard in order:
        lo, hi = max(begin, offset), min(end, offset + shard.samples)
        if lo < hi:
            out.append(Segment(shard.path, lo - offset, hi - offset))
        offset += shard.samples
        if offset >= end:
            break
    return tuple(out)


def _split_batches(batches: int, parts: int) -> list[int]:
    """``batches`` spread over ``parts`` workers, the first ones taking one more."""
    return [batches // parts + (1 if i < batches % parts else 0) for i in range(parts)]


def _rank_workers(
    order: Sequence[ShardInfo], rank: int, begin: int, count: int, workers: int, batch_size: int
) -> tuple[WorkerPlan, ...]:
    """Cut a rank's ``count`` samples starting at ``begin`` into batch-aligned worker slices."""
    batches = -(-count // batch_size)
    plans: list[WorkerPlan] = []
    pos, end = begin, begin + count
    for worker, n_batches in enumerate(_split_batches(batches, workers)):
        stop = min(pos + n_batches * batch_size, end)
        segs = _segments(order, pos, stop)
        plans.append(WorkerPlan(rank, worker, segs, stop - pos, n_batches))
        pos = stop
    return tuple(plans)


def plan_epoch(
    shards: Sequence[ShardInfo],
    *,
    world: int,
    workers: int,
    batch_size: int,
    seed: int,
    epoch: int,
    drop_last: bool = True,
    shuffle: bool = True,
) -> EpochPlan:
    """The epoch's assignment of samples to every rank and worker (see the module docstring)."""
    if world < 1 or workers < 1 or batch_size < 1:
        raise BalanceError(
            f"expected world, workers, batch size >= 1, found {world}, {workers}, {batch_size}"
        )
    order = shard_order(shards, seed, epoch, shuffle)
    total = sum(s.samples for s in order)
    if drop_last:
        per_rank = (total // (world * batch_size)) * batch_size
        if per_rank == 0:
            raise BalanceError(
                f"the split holds {total} samples, fewer than ranks x batch size = {world} x {batch_size}; "
                "expected at least one full batch per rank: lower --batch-size or use fewer ranks"
            )
        dropped = total - per_rank * world
        rng = np.random.default_rng([seed, epoch, 0xD209])
        offset = int(rng.integers(0, dropped + 1)) if shuffle else 0
        starts = [offset + r * per_rank for r in range(world)]
        counts = [per_rank] * world
    else:
        dropped = 0
        counts = [total // world + (1 if r < total % world else 0) for r in range(world)]
        starts = [sum(counts[:r]) for r in range(world)]
    plans = tuple(_rank_workers(order, r, starts[r], counts[r], workers, batch_size) for r in range(world))
    steps = tuple(sum(w.batches for w in rank) for rank in plans)
    return EpochPlan(workers=plans, steps=steps, dropped=dropped)


def rank_and_world(rank: int | None, world: int | None) -> tuple[int, int]:
    """The given rank and world size, else torch.distributed's when it is initialised, else the
    RANK and WORLD_SIZE variables (torchrun sets them), else 0 and 1."""
    if rank is not None and world is not None:
        return rank, world
    dist = getattr(sys.modules.get("torch"), "distributed", None)
    if dist is not None and dist.is_available() and dist.is_initialized():
        found = int(dist.get_rank()), int(dist.get_world_size())
    else:
        found = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    return (found[0] if rank is None else rank), (found[1] if world is None else world)
