"""Shard assignment to ranks and workers: equal steps, each sample at most once, full eval coverage."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flmprep.data.balance import BalanceError, EpochPlan, ShardInfo, plan_epoch


def _shards(counts: list[int]) -> list[ShardInfo]:
    return [ShardInfo(f"train/shard-{i:04d}.tar", n) for i, n in enumerate(counts)]


def _samples(plan: EpochPlan) -> Counter[tuple[str, int]]:
    seen: Counter[tuple[str, int]] = Counter()
    for rank in plan.workers:
        for worker in rank:
            for seg in worker.segments:
                seen.update((seg.path, i) for i in range(seg.start, seg.stop))
    return seen


configs = st.tuples(
    st.lists(st.integers(0, 60), min_size=1, max_size=8),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(1, 9),
    st.integers(0, 3),
)


@settings(max_examples=150, deadline=None)
@given(configs)
def test_training_plan_equal_steps_and_no_repeats(cfg: tuple[list[int], int, int, int, int]) -> None:
    counts, world, workers, batch, epoch = cfg
    total = sum(counts)
    if total < world * batch:
        with pytest.raises(BalanceError, match="fewer than ranks x batch size"):
            plan_epoch(_shards(counts), world=world, workers=workers, batch_size=batch, seed=3, epoch=epoch)
        return
    plan = plan_epoch(_shards(counts), world=world, workers=workers, batch_size=batch, seed=3, epoch=epoch)
    steps = total // (world * batch)
    assert plan.steps == (steps,) * world
    seen = _samples(plan)
    assert max(seen.values()) == 1
    assert sum(seen.values()) == steps * batch * world == total - plan.dropped
    assert plan.dropped < world * batch
    for rank in plan.workers:
        assert len(rank) == workers
        for w in rank:
            assert w.samples == w.batches * batch == sum(s.samples for s in w.segments)
            assert all(0 <= s.start < s.stop <= counts[int(s.path[-8:-4])] for s in w.segments)


@settings(max_examples=150, deadline=None)
@given(configs)
def test_eval_plan_covers_every_sample_once(cfg: tuple[list[int], int, int, int, int]) -> None:
    counts, world, workers, batch, _ = cfg
    plan = plan_epoch(
        _shards(counts),
        world=world,
        workers=workers,
        batch_size=batch,
        seed=0,
        epoch=0,
        drop_last=False,
        shuffle=False,
    )
    seen = _samples(plan)
    assert sum(seen.values()) == len(seen) == sum(counts)
    assert plan.dropped == 0
    for rank in plan.workers:
        for w in rank:
            assert w.batches == -(-w.samples // batch)


def test_fewer_shards_than_workers_split_by_sample_range() -> None:
    plan = plan_epoch(_shards([40]), world=2, workers=2, batch_size=5, seed=0, epoch=1, shuffle=False)
    ranges = [(s.start, s.stop) for rank in plan.workers for w in rank for s in w.segments]
    assert ranges == [(0, 10), (10, 20), (20, 30), (30, 40)]
    assert plan.steps == (4, 4)


def test_order_is_seeded_by_seed_and_epoch() -> None:
    shards = _shards([7, 11, 13, 17, 19, 23])

    def order(seed: int, epoch: int) -> list[tuple[str, int, int]]:
        plan = plan_epoch(shards, world=2, workers=2, batch_size=4, seed=seed, epoch=epoch)
        return [(s.path, s.start, s.stop) for r in plan.workers for w in r for s in w.segments]

    assert order(5, 1) == order(5, 1)
    assert order(5, 1) != order(5, 2)
    assert order(5, 1) != order(6, 1)


def test_uneven_shards_give_equal_steps() -> None:
    plan = plan_epoch(_shards([100, 3, 57, 1]), world=2, workers=3, batch_size=8, seed=1, epoch=1)
    assert plan.steps == (10, 10)
    assert plan.dropped == 161 - 160


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(BalanceError, match="expected world, workers, batch size >= 1"):
        plan_epoch(_shards([10]), world=0, workers=1, batch_size=1, seed=0, epoch=0)
