"""The torch dataset over a built split: balanced ranks and loader workers, decoded tensors.

``LandmarkDataset`` takes the split's shards from the manifest and, at each iteration, plans the
epoch (``balance.plan_epoch``: ranks and workers balanced by sample count, shards shared by
sample range when there are fewer than ranks × workers, equal steps on every rank when
training). Each loader worker reads only its own segments, shuffles them in a buffer seeded by
(seed, epoch, rank, worker) and yields decoded samples as tensors; ``make_loader`` batches them
with the batch size the plan was made for. Images travel as uint8 HWC (4× less than float) and
are pinned on CUDA hosts; the float conversion happens on the device.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from flmprep.data.balance import EpochPlan, ShardInfo, WorkerPlan, plan_epoch, rank_and_world
from flmprep.data.built import BuiltDataset, DataError, RawSample, SampleError, open_dataset, read_segment
from flmprep.data.decode import decode_sample, shuffled

log = logging.getLogger(__name__)

#: Default shuffle buffer (samples per loader worker).
SHUFFLE_BUFFER = 256
_ARRAYS = ("image", "landmarks", "visible", "transform", "heatmaps")


@dataclass(frozen=True)
class Batch:
    """A batch: images uint8 [B,H,W,C] (C = 3 or 1), landmarks float32 [B,K,2] (output pixels),
    visible bool [B,K], transforms float64 [B,2,3] (source → output), heatmaps float32 [B,K,h,w]
    (or None), plus keys and attribute dicts."""

    images: torch.Tensor
    landmarks: torch.Tensor
    visible: torch.Tensor
    transforms: torch.Tensor
    keys: list[str] = field(default_factory=list)
    attributes: list[dict[str, Any]] = field(default_factory=list)
    heatmaps: torch.Tensor | None = None
    #: One message (``<split>/shard-NNNN.tar:KEY: …``) per corrupt sample skipped in this batch.
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)

    def pin_memory(self) -> Batch:
        """Page-locked copies, so that ``to(device, non_blocking=True)`` overlaps with compute."""
        return self._map(lambda t: t.pin_memory())

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        return self._map(lambda t: t.to(device, non_blocking=non_blocking))

    def _map(self, fn: Any) -> Batch:
        heatmaps = None if self.heatmaps is None else fn(self.heatmaps)
        return Batch(fn(self.images), fn(self.landmarks), fn(self.visible), fn(self.transforms), self.keys,
                     self.attributes, heatmaps, self.skipped)


def collate(samples: list[dict[str, Any]]) -> Batch:
    """Stack decoded samples into a ``Batch`` (all images must share one size)."""
    shapes = {tuple(s["image"].shape) for s in samples}
    if len(shapes) > 1:
        raise DataError(f"samples {samples[0]['key']}..: expected one image size per batch, "
                        f"found {sorted(shapes)}")
    heatmaps = torch.stack([s["heatmaps"] for s in samples]) if "heatmaps" in samples[0] else None
    return Batch(
        images=torch.stack([s["image"] for s in samples]),
        landmarks=torch.stack([s["landmarks"] for s in samples]),
        visible=torch.stack([s["visible"] for s in samples]),
        transforms=torch.stack([s["transform"] for s in samples]),
        keys=[s["key"] for s in samples],
        attributes=[s["attributes"] for s in samples],
        heatmaps=heatmaps,
        skipped=[m for s in samples for m in s.get("skipped", ())],
    )


def _tensors(sample: dict[str, Any]) -> dict[str, Any]:
    return {k: torch.from_numpy(v) if k in _ARRAYS else v for k, v in sample.items()}


class LandmarkDataset(IterableDataset[dict[str, Any]]):
    """The samples of one split for this rank, as dicts of tensors (``flmprep.data.decode``).

    ``batch_size`` is the batch size of the loader (``make_loader`` uses it): each worker's share
    is a whole number of batches, so every rank runs ``steps`` batches. Training defaults
    (``shuffle=True`` on the train split): shards reordered per epoch, samples shuffled in a
    buffer, the remainder of ``world × batch_size`` dropped. Otherwise every sample exactly once,
    in order. ``rank``/``world`` default to torch.distributed's (or RANK/WORLD_SIZE);
    ``heatmaps`` to whether the build has them; ``shards`` (default: the split's) reads a
    subset; ``channels`` is the images' channel count (3: RGB, 1: luma). ``set_epoch`` (or
    ``make_loader``, which advances it each pass) picks the epoch's order.
    """

    def __init__(self, data: str | Path | BuiltDataset, split: str = "train", *, batch_size: int = 32,
                 shuffle: bool | None = None, drop_last: bool | None = None,
                 shuffle_buffer: int = SHUFFLE_BUFFER, seed: int = 0, epoch: int = 0,
                 rank: int | None = None, world: int | None = None, heatmaps: bool | None = None,
                 shards: Sequence[ShardInfo] | None = None, channels: int = 3) -> None:
        built = data if isinstance(data, BuiltDataset) else open_dataset(data)
        self.root = built.root
        self.shard_list: tuple[ShardInfo, ...] = built.shards(split) if shards is None else tuple(shards)
        self.split = split
        self.shuffle = split == "train" if shuffle is None else shuffle
        self.drop_last = self.shuffle if drop_last is None else drop_last
        self.heatmaps = built.has_heatmaps if heatmaps is None else heatmaps
        self.batch_size, self.shuffle_buffer = batch_size, shuffle_buffer if self.shuffle else 0
        self.seed, self.epoch, self.channels = seed, epoch, channels
        self.num_points = built.num_points
        self.rank, self.world = rank_and_world(rank, world)
        self.plan()  # refuse now a split that cannot feed the ranks

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def plan(self, workers: int = 1) -> EpochPlan:
        """This epoch's plan for ``workers`` loader workers (raises ``BalanceError`` when the
        split cannot give every rank a batch)."""
        return plan_epoch(self.shard_list, world=self.world, workers=workers, batch_size=self.batch_size,
                          seed=self.seed, epoch=self.epoch, drop_last=self.drop_last, shuffle=self.shuffle)

    @property
    def steps(self) -> int:
        """Batches this rank gets per epoch (the same on every rank when training)."""
        return self.plan().steps[self.rank]

    def __len__(self) -> int:
        """Samples this rank gets per epoch."""
        return sum(w.samples for w in self.plan().workers[self.rank])

    def worker_plan(self) -> WorkerPlan:
        """The plan of the calling loader worker (worker 0 of 1 outside a DataLoader worker)."""
        info = get_worker_info()
        worker, count = (0, 1) if info is None else (info.id, info.num_workers)
        return self.plan(count).workers[self.rank][worker]

    def raw_samples(self, plan: WorkerPlan) -> Iterator[RawSample]:
        """The undecoded samples of ``plan``, shuffled when training."""
        raw = (s for seg in plan.segments for s in read_segment(self.root, seg))
        rng = np.random.default_rng([self.seed, self.epoch, plan.rank, plan.worker])
        return shuffled(raw, self.shuffle_buffer, rng)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Decoded samples of this worker's plan. A sample that cannot be decoded (``SampleError``)
        is skipped with a warning, and its message travels in a ``skipped`` list of the next good
        sample (the last one for trailing ones; the key is absent when nothing was skipped), so
        the consumer can count and limit them.
        When training (``drop_last``) each skipped sample's place is taken by a copy of that good
        sample, so every rank still runs ``steps`` batches; otherwise the split is one sample
        shorter. A worker whose every sample fails raises ``DataError``."""
        held: dict[str, Any] | None = None
        skipped: list[str] = []
        for raw in self.raw_samples(self.worker_plan()):
            try:
                sample = _tensors(decode_sample(raw, heatmaps=self.heatmaps, channels=self.channels,
                                                num_points=self.num_points))
            except SampleError as exc:
                log.warning("skipped a corrupt sample: %s", exc)
                skipped.append(str(exc))
                continue
            if held is not None:
                yield from self._with_stand_ins(held)
            if skipped:
                sample["skipped"], skipped = skipped, []
            held = sample
        if held is None:
            if skipped:
                raise DataError(f"expected a readable sample in this loader worker's share, found "
                                f"{len(skipped)} corrupt ones, the first: {skipped[0]}")
            return
        if skipped:
            held["skipped"] = held.get("skipped", []) + skipped
        yield from self._with_stand_ins(held)

    def _with_stand_ins(self, sample: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """``sample``, then (when training) one copy of it for each sample skipped before it."""
        yield sample
        if self.drop_last:
            copy = {k: v for k, v in sample.items() if k != "skipped"}
            for _ in sample.get("skipped", ()):
                yield copy


class EpochLoader(DataLoader[Batch]):
    """A DataLoader whose every pass is the next epoch of its ``LandmarkDataset``."""

    def __init__(self, dataset: LandmarkDataset, **kwargs: Any) -> None:
        super().__init__(dataset, **kwargs)  # type: ignore[arg-type]  # yields samples, batches them
        self._next_epoch = dataset.epoch

    def __iter__(self) -> Any:
        dataset = self.dataset
        assert isinstance(dataset, LandmarkDataset)
        dataset.set_epoch(self._next_epoch)
        self._next_epoch += 1
        return super().__iter__()


def _init_worker(_: int) -> None:
    torch.set_num_threads(1)


def make_loader(dataset: LandmarkDataset, num_workers: int = 0, *, pin_memory: bool = False,
                prefetch_factor: int = 4) -> EpochLoader:
    """Batches of ``dataset`` (``Batch``) with its batch size: ``num_workers`` processes (0 = in this
    process); each pass over the loader is the next epoch."""
    return EpochLoader(
        dataset,
        batch_size=dataset.batch_size,
        collate_fn=collate,
        num_workers=num_workers,
        pin_memory=pin_memory,
        worker_init_fn=_init_worker if num_workers else None,
        prefetch_factor=prefetch_factor if num_workers else None,
        persistent_workers=False,
    )
