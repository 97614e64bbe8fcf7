"""Plan a build: probe every image, then cut each split into shard tasks. Pure: planning reads
the annotations and image headers but never looks at the output folder.

Rule: per split, records sorted by key are permuted with a seeded permutation; their samples
(record, view 0..V-1) are laid end to end in that order and cut every ``samples_per_shard``
samples. A record's views may straddle two shards; the shard holding its first view *owns*
it (counts it, reports its reject). So every shard but a split's last holds exactly N samples,
except when a record fails its full decode in ``build_shard`` (then its samples are missing),
or when that would give fewer than ``min_shards`` shards: then the split is cut into
``min_shards`` shards (at most one per sample) whose sizes differ by at most one.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flmprep import augment, imageio
from flmprep.augment.base import Face
from flmprep.builder.config import BuildConfig
from flmprep.builder.errors import BuildError
from flmprep.errors import ConfigError
from flmprep.formats import OnError, read_dataset
from flmprep.records import FaceRecord, ReadReport, Reject
from flmprep.shards import naming

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeTask:
    """A chunk of records to probe. ``read_rejects`` (reader rejects, first task only) pass
    straight through ``run_probe`` so that ``make_plan`` sees every input record."""

    index: int
    config: BuildConfig
    records: tuple[FaceRecord, ...]
    read_rejects: tuple[Reject, ...] = ()
    #: What the reader counted that is not a record (first task only), e.g. ``ignored_boxes``.
    read_counts: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class ProbeResult:
    """One input record after probing: ``record`` with the image size, or a ``reject``."""

    key: str
    split: str
    record: FaceRecord | None = None
    width: int = 0
    height: int = 0
    reject: Reject | None = None


@dataclass(frozen=True)
class ShardItem:
    """Views ``[start, stop)`` of one record inside one shard; ``owner`` when ``start`` is the
    record's first view (the shard that counts the record)."""

    record: FaceRecord
    width: int
    height: int
    start: int
    stop: int
    owner: bool


@dataclass(frozen=True)
class ShardTask:
    """One shard to build: everything ``build_shard`` needs, no image bytes."""

    split: str
    index: int
    config: BuildConfig
    items: tuple[ShardItem, ...]
    samples: int

    @property
    def name(self) -> str:
        return naming.shard_stem(self.index)

    @property
    def tar_path(self) -> Path:
        return Path(self.config.out) / self.split / naming.shard_tar(self.index)

    @property
    def sidecar_path(self) -> Path:
        return Path(self.config.out) / self.split / naming.shard_sidecar(self.index)

    @property
    def index_path(self) -> Path:
        """The shard's DALI index, ``shard-NNNN.idx``."""
        return Path(self.config.out) / self.split / naming.shard_index(self.index)

    @property
    def records(self) -> int:
        return sum(1 for item in self.items if item.owner)


@dataclass(frozen=True)
class Plan:
    """Shard tasks of every split, the rejects found before building, and input counts."""

    config: BuildConfig
    tasks: tuple[ShardTask, ...]
    rejects: tuple[Reject, ...]
    input_records: int
    split_records: dict[str, int] = field(default_factory=dict)
    read_counts: dict[str, int] = field(default_factory=dict)

    def split_tasks(self, split: str) -> list[ShardTask]:
        return [t for t in self.tasks if t.split == split]

    @property
    def splits(self) -> list[str]:
        return sorted({t.split for t in self.tasks} | set(self.split_records))


# --- probe stage ---------------------------------------------------------------------------------


def probe_tasks(cfg: BuildConfig) -> list[ProbeTask]:
    """Read the annotations (driver) and chunk the records of the selected splits into probe
    tasks. Reader errors raise under ``on_error=fail``, else become rejects."""
    report = ReadReport()
    every = list(read_dataset(cfg.dataset, cfg.root, on_error=_on_error(cfg), report=report,
                              protocol=cfg.protocol))
    check_splits(cfg, {r.split for r in every} | {r.split for r in report.rejects if r.split})
    records = [r for r in every if _selected(cfg, r.split)]
    rejects = tuple(r for r in report.rejects if not r.split or _selected(cfg, r.split))
    chunk = cfg.probe_chunk
    tasks = [ProbeTask(i // chunk, cfg, tuple(records[i:i + chunk])) for i in range(0, len(records), chunk)]
    if not tasks:
        tasks = [ProbeTask(0, cfg, ())]
    counts = tuple(sorted((name, n) for name, n in report.counters.items() if n))
    tasks[0] = ProbeTask(0, cfg, tasks[0].records, rejects, counts)
    log.info("read %d records (%d reader rejects) into %d probe tasks",
             len(records), len(rejects), len(tasks))
    return tasks


def check_splits(cfg: BuildConfig, present: set[str]) -> None:
    """Refuse ``--splits`` naming a split the dataset does not have (a typo would build nothing)."""
    unknown = [s for s in cfg.splits or () if s not in present]
    if unknown:
        have = ", ".join(sorted(present)) or "none"
        raise ConfigError(f"--splits: expected split names of this {cfg.dataset} dataset ({have}), "
                          f"found {', '.join(repr(s) for s in unknown)}")


def _on_error(cfg: BuildConfig) -> OnError:
    return "fail" if cfg.on_error == "fail" else "skip"


def _selected(cfg: BuildConfig, split: str) -> bool:
    return cfg.splits is None or split in cfg.splits


def run_probe(task: ProbeTask) -> list[ProbeResult]:
    """Executor: stat and read the header of each image, check the landmarks and that the
    recipe can fit its crop. Small results only."""
    recipe = task.config.make_recipe()
    root = Path(task.config.root)
    out = [ProbeResult(r.key, r.split, reject=r) for r in task.read_rejects]
    out.extend(probe_record(recipe, root, record) for record in task.records)
    return out


def probe_record(recipe: augment.Recipe, root: Path, record: FaceRecord) -> ProbeResult:
    """Probe one record; never raises for bad input. The recipe check plans the canonical view
    (pixel-free); a random training view that cannot be cropped is rejected by ``build_shard``."""
    def rejected(reason: str, message: str) -> ProbeResult:
        reject = Reject(record.key, reason, f"{record.image}: {message}", record.origin, record.split)
        return ProbeResult(record.key, record.split, reject=reject)

    if not record.split:
        return rejected("split_missing", "expected a split (train/val/test), found none")
    pts = np.asarray(record.landmarks, dtype=np.float64)
    if not np.isfinite(pts).all():
        bad = int(np.flatnonzero(~np.isfinite(pts).all(axis=1))[0])
        return rejected("nonfinite_landmarks",
                        f"landmark {bad}: expected finite x, y, found {pts[bad].tolist()}")
    try:
        info = imageio.probe(os.path.join(root, record.image), max_pixels=imageio.DEFAULT_MAX_PIXELS)
    except imageio.ImageError as exc:
        return rejected(exc.reason, exc.message)
    w, h = info.width, info.height
    outside = (pts[:, 0] < -0.5) | (pts[:, 0] > w - 0.5) | (pts[:, 1] < -0.5) | (pts[:, 1] > h - 0.5)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        return rejected("landmarks_outside_image",
                        f"landmark {i}: expected inside the {w}×{h} image, found {pts[i].tolist()}")
    try:
        recipe.plan(Face.of(record, pts, (w, h)), None)
    except augment.AugmentError as exc:
        return rejected(exc.reason, exc.message)
    return ProbeResult(record.key, record.split, record=record, width=w, height=h)


# --- plan ----------------------------------------------------------------------------------------


def portable(reject: Reject, root: str) -> Reject:
    """The reject with the dataset root stripped from its origin and message, so that outputs do
    not depend on where the dataset is mounted."""
    prefix = root.rstrip("/") + "/"
    return Reject(reject.key, reject.reason, reject.message.replace(prefix, ""),
                  reject.origin.replace(prefix, ""), reject.split)


def split_permutation(seed: int, split: str, n: int) -> np.ndarray:
    """The seeded order of a split's ``n`` key-sorted records (blake2b of seed and split)."""
    digest = hashlib.blake2b(f"flmprep.plan/{seed}/{split}".encode(), digest_size=8).digest()
    return np.random.default_rng(int.from_bytes(digest, "little")).permutation(n)


def make_plan(cfg: BuildConfig, results: Iterable[Sequence[ProbeResult]],
              read_counts: Iterable[tuple[str, int]] = ()) -> Plan:
    """Driver: rejects from the probes, and per split a seeded permutation cut into shard tasks;
    ``read_counts`` (the first probe task's) go to the manifest. Raises BuildError on the first
    reject under ``on_error=fail``."""
    recipe = cfg.make_recipe()
    flat = [r for chunk in results for r in chunk]
    rejects = sorted((portable(r.reject, cfg.root) for r in flat if r.reject is not None),
                     key=lambda j: (j.split, j.key, j.reason))
    if rejects and cfg.on_error == "fail":
        raise BuildError.from_reject(rejects[0])
    by_split: dict[str, list[ProbeResult]] = {}
    for r in flat:
        if r.record is not None:
            by_split.setdefault(r.split, []).append(r)
    tasks: list[ShardTask] = []
    for split in sorted(by_split):
        tasks.extend(_cut_split(cfg, split, by_split[split], recipe.num_views(split)))
    split_records = Counter(r.split for r in flat)
    log.info("plan: %d shard tasks, %d rejects before building", len(tasks), len(rejects))
    return Plan(cfg, tuple(tasks), tuple(rejects), len(flat), dict(sorted(split_records.items())),
                dict(sorted(read_counts)))


def fingerprint(the_plan: Plan) -> str:
    """sha256 of what the shards depend on besides the config and the image bytes: each task's
    records (key, image, face, size, views, landmarks, box, attributes) and the rejects."""
    h = hashlib.sha256()
    for t in the_plan.tasks:
        h.update(f"task {t.split} {t.index}\n".encode())
        for i in t.items:
            r = i.record
            attrs = sorted(r.attributes.items())
            h.update(f"{r.key}\0{r.image}\0{r.face}\0{i.width}x{i.height}\0{i.start}:{i.stop}\0{r.bbox}\0{attrs}\n"
                     .encode())
            h.update(np.ascontiguousarray(r.landmarks, dtype=np.float32).tobytes())
    for j in the_plan.rejects:
        h.update(f"reject {j.split} {j.key} {j.reason}\n".encode())
    return h.hexdigest()


def shard_sizes(samples: int, per_shard: int, min_shards: int) -> list[int]:
    """The sample counts of a split's shards: ``per_shard`` each but the last, unless that gives
    fewer than ``min_shards`` shards; then ``min(min_shards, samples)`` near-equal ones (the first
    ``samples % n`` one larger)."""
    if samples <= 0:
        return []
    full, rest = divmod(samples, per_shard)
    if full + (1 if rest else 0) >= min_shards:
        return [per_shard] * full + ([rest] if rest else [])
    n = min(min_shards, samples)
    base, extra = divmod(samples, n)
    return [base + (1 if i < extra else 0) for i in range(n)]


def _cut_split(cfg: BuildConfig, split: str, probed: list[ProbeResult], views: int) -> list[ShardTask]:
    ordered = sorted(probed, key=lambda r: r.key)
    keys = [r.key for r in ordered]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"split {split!r}: expected unique record keys, found {dup!r} twice")
    perm = split_permutation(cfg.seed, split, len(ordered))
    sizes = shard_sizes(len(ordered) * views, cfg.samples_per_shard, cfg.min_shards)
    tasks: list[ShardTask] = []
    items: list[ShardItem] = []
    filled = 0
    for idx in perm:
        r = ordered[int(idx)]
        assert r.record is not None
        start = 0
        while start < views:
            take = min(views - start, sizes[len(tasks)] - filled)
            items.append(ShardItem(r.record, r.width, r.height, start, start + take, start == 0))
            start += take
            filled += take
            if filled == sizes[len(tasks)]:
                tasks.append(ShardTask(split, len(tasks), cfg, tuple(items), filled))
                items, filled = [], 0
    return tasks


#: The cost of decoding a source relative to rendering one view, for ordering tasks only
#: (docs/benchmarks.md has the measured costs it comes from).
DECODE_COST = 4


def longest_first(tasks: Iterable[ShardTask]) -> list[ShardTask]:
    """Tasks in descending estimated cost (samples + DECODE_COST × decodes), ties by split and
    index. Engines start them in this order, so a slow shard (a test split's one view per
    decode, say) does not run alone at the end while the other workers idle. Output bytes do not
    depend on the order."""
    return sorted(tasks, key=lambda t: (-_cost(t), t.split, t.index))


def _cost(task: ShardTask) -> int:
    return task.samples + DECODE_COST * len(task.items)


def group_count(tasks: int, slots: int, most: int) -> int:
    """How many groups of at most ``most`` shard tasks to make for ``slots`` parallel workers: a
    multiple of ``slots`` (equal groups then finish together), never more than ``tasks``."""
    if tasks <= 0:
        return 0
    slots, most = max(1, slots), max(1, most)
    return min(tasks, slots * -(-tasks // (slots * most)))


def task_groups(tasks: Sequence[ShardTask], groups: int) -> list[list[ShardTask]]:
    """``tasks`` packed into at most ``groups`` lists of near-equal estimated cost: longest first,
    each onto the least loaded list (LPT). Every task lands in exactly one list; lists come in
    descending cost, and each list longest first. Deterministic: same tasks, same groups."""
    bins: list[tuple[int, int, list[ShardTask]]] = [(0, i, []) for i in range(max(1, groups))]
    heapq.heapify(bins)
    for task in longest_first(tasks):
        load, i, members = heapq.heappop(bins)
        members.append(task)
        heapq.heappush(bins, (load + _cost(task), i, members))
    return [members for _, _, members in sorted(bins, key=lambda b: (-b[0], b[1])) if members]
