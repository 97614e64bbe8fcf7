"""The plan: exact shard sizes, every (record, view) exactly once, one owner, seeded order."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flmprep.builder.config import BuildConfig
from flmprep.builder.plan import (
    DECODE_COST,
    Plan,
    ProbeResult,
    group_count,
    longest_first,
    make_plan,
    shard_sizes,
    split_permutation,
    task_groups,
)
from flmprep.records import FaceRecord, Reject

PTS = np.zeros((5, 2), dtype=np.float32)


def _cfg(tmp: Path, n: int, crops: int, seed: int = 0) -> BuildConfig:
    return BuildConfig(dataset="celeba", root=str(tmp), out=str(tmp / "out"), recipe="celeba",
                       recipe_params={"crops": crops}, samples_per_shard=n, seed=seed)


def _results(counts: dict[str, int], rejected: int = 0) -> list[list[ProbeResult]]:
    flat: list[ProbeResult] = []
    for split, n in counts.items():
        for i in range(n):
            key = f"celeba_{split}{i:05d}_f0"
            rec = FaceRecord(key, "celeba", split, f"img/{split}{i}.jpg", 0, "celeba5", PTS)
            flat.append(ProbeResult(key, split, record=rec, width=100, height=80))
    for i in range(rejected):
        key = f"celeba_bad{i:03d}_f0"
        flat.append(ProbeResult(key, "train", reject=Reject(key, "missing_image", "gone", "", "train")))
    return [flat[i:i + 7] for i in range(0, len(flat), 7)]


def _check(plan: Plan, counts: dict[str, int], crops: int, n: int) -> None:
    for split, records in counts.items():
        tasks = plan.split_tasks(split)
        views = crops if split == "train" else 1
        assert [t.index for t in tasks] == list(range(len(tasks)))
        assert all(t.samples == n for t in tasks[:-1])
        assert sum(t.samples for t in tasks) == records * views
        assert all(t.samples == sum(i.stop - i.start for i in t.items) for t in tasks)
        seen = Counter((i.record.key, v) for t in tasks for i in t.items for v in range(i.start, i.stop))
        assert set(seen.values()) <= {1}
        assert len(seen) == records * views
        owners = Counter(i.record.key for t in tasks for i in t.items if i.owner)
        assert len(owners) == records and set(owners.values()) <= {1}
        assert all(i.owner == (i.start == 0) for t in tasks for i in t.items)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 40), st.integers(0, 9), st.integers(1, 4), st.integers(1, 13), st.integers(0, 3))
def test_every_shard_but_the_last_holds_exactly_n(
    train: int, test: int, crops: int, n: int, bad: int
) -> None:
    counts = {"train": train, "test": test}
    cfg = _cfg(Path("/nonexistent"), n, crops)
    plan = make_plan(cfg, _results(counts, bad))
    _check(plan, counts, crops, n)
    assert plan.input_records == train + test + bad
    assert len(plan.rejects) == bad


def test_plan_is_seeded_and_independent_of_probe_order() -> None:
    counts = {"train": 30, "val": 5}
    cfg = _cfg(Path("/x"), 8, 3, seed=5)
    results = _results(counts, 2)
    flat = [r for chunk in results for r in chunk]
    random.Random(1).shuffle(flat)
    a, b = make_plan(cfg, results), make_plan(cfg, [flat[:10], flat[10:]])
    order = [[(i.record.key, i.start, i.stop) for i in t.items] for t in a.tasks]
    assert order == [[(i.record.key, i.start, i.stop) for i in t.items] for t in b.tasks]
    assert a.rejects == b.rejects
    c = make_plan(_cfg(Path("/x"), 8, 3, seed=6), results)
    assert order != [[(i.record.key, i.start, i.stop) for i in t.items] for t in c.tasks]


def test_split_permutation_is_a_stable_permutation() -> None:
    p = split_permutation(0, "train", 50)
    assert sorted(p.tolist()) == list(range(50))
    assert p.tolist() == split_permutation(0, "train", 50).tolist()
    assert p.tolist() != split_permutation(0, "test", 50).tolist()


def test_shard_paths_follow_the_layout(tmp_path: Path) -> None:
    plan = make_plan(_cfg(tmp_path, 4, 2), _results({"train": 5}))
    task = plan.tasks[-1]
    assert task.name == "shard-0002"
    assert task.tar_path == tmp_path / "out" / "train" / "shard-0002.tar"
    assert task.sidecar_path == tmp_path / "out" / "train" / "shard-0002.json"


def _plan(tmp: Path, counts: dict[str, int], crops: int, n: int) -> Plan:
    return make_plan(_cfg(tmp, n, crops), _results(counts))


def test_longest_first_puts_one_view_splits_first(tmp_path: Path) -> None:
    """A test split's shard decodes once per sample: it starts first, the partial last shards last."""
    the_plan = _plan(tmp_path, {"train": 30, "test": 40}, 20, 100)
    order = longest_first(the_plan.tasks)
    assert sorted((t.split, t.index) for t in order) == sorted((t.split, t.index) for t in the_plan.tasks)
    assert order[0].split == "test" and order[0].samples == 40
    costs = [t.samples + DECODE_COST * len(t.items) for t in order]
    assert costs == sorted(costs, reverse=True)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 60), st.integers(0, 30), st.integers(1, 20), st.integers(1, 6), st.integers(1, 9))
def test_task_groups_hold_every_task_once_and_balance_cost(
    train: int, test: int, crops: int, slots: int, most: int
) -> None:
    the_plan = _plan(Path("/nonexistent"), {"train": train, "test": test}, crops, 37)
    tasks = list(the_plan.tasks)
    count = group_count(len(tasks), slots, most)
    assert count <= len(tasks) and (count % slots == 0 or count == len(tasks))
    groups = task_groups(tasks, count)
    flat = [t for g in groups for t in g]
    assert sorted((t.split, t.index) for t in flat) == sorted((t.split, t.index) for t in tasks)
    assert len(groups) <= count and all(groups)
    assert len(tasks) <= most * count  # on average at most `most` shards a group
    cost = [sum(t.samples + DECODE_COST * len(t.items) for t in g) for g in groups]
    biggest = max(t.samples + DECODE_COST * len(t.items) for t in tasks)
    assert max(cost) - min(cost) <= biggest  # LPT: no group exceeds another by more than one task
    assert cost == sorted(cost, reverse=True)
    assert task_groups(tasks, count) == groups  # deterministic


def test_group_count_is_a_multiple_of_the_slots() -> None:
    assert group_count(102, 2, 8) == 14
    assert group_count(4050, 2, 8) == 508
    assert group_count(5, 8, 8) == 5
    assert group_count(0, 2, 8) == 0
    assert group_count(16, 2, 8) == 2


@given(samples=st.integers(0, 5000), per_shard=st.integers(1, 1200), min_shards=st.integers(1, 64))
def test_shard_sizes_give_at_least_min_shards_spread_evenly(samples: int, per_shard: int,
                                                           min_shards: int) -> None:
    sizes = shard_sizes(samples, per_shard, min_shards)
    assert sum(sizes) == samples and all(s >= 1 for s in sizes)
    assert len(sizes) >= min(min_shards, samples)
    plain = -(-samples // per_shard)
    if plain >= min_shards:
        tail = [samples % per_shard] if samples % per_shard else []
        assert sizes == [per_shard] * (samples // per_shard) + tail
    elif samples:
        assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


@settings(max_examples=25, deadline=None)
@given(records=st.integers(1, 40), crops=st.integers(1, 4), min_shards=st.integers(2, 9))
def test_min_shards_cuts_small_splits_into_even_shards(records: int, crops: int, min_shards: int) -> None:
    tmp = Path("/nonexistent")
    cfg = BuildConfig(dataset="celeba", root=str(tmp), out=str(tmp / "out"), recipe="celeba",
                      recipe_params={"crops": crops}, samples_per_shard=1000, min_shards=min_shards)
    plan = make_plan(cfg, _results({"train": records, "test": records}))
    for split, views in (("train", crops), ("test", 1)):
        tasks = plan.split_tasks(split)
        assert [t.samples for t in tasks] == shard_sizes(records * views, 1000, min_shards)
        assert len(tasks) == min(min_shards, records * views)
        seen = Counter((i.record.key, v) for t in tasks for i in t.items for v in range(i.start, i.stop))
        assert len(seen) == records * views and set(seen.values()) == {1}
