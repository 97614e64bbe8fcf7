"""Streaming loader: an epoch plan → per-worker shard segments → shuffled, decoded batches.

Each DataLoader worker reads only its own segments (``balance.plan_epoch``),
shuffles samples in a buffer seeded by (seed, epoch, rank, worker), decodes
JPEG with simplejpeg and yields whole batches, so a rank gets exactly its
planned number of batches. Images are decoded to the model's channel count (RGB for
3-channel models, greyscale expanded; luma for 1-channel models, colour converted) and
travel as uint8 HWC (4× less than float)
and are pinned on CUDA hosts; the float conversion happens on the device.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import simplejpeg
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from flmprep.train.balance import EpochPlan, WorkerPlan
from flmprep.train.shardio import DataError, RawSample, read_segment, sample_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Batch:
    """A batch: images uint8 [B,H,W,C] (C = 1 or 3), landmarks float32 [B,K,2] (output pixels),
    visible bool [B,K],
    transforms float64 [B,2,3] (source → output), plus keys and attribute dicts."""

    images: torch.Tensor
    landmarks: torch.Tensor
    visible: torch.Tensor
    transforms: torch.Tensor
    keys: list[str] = field(default_factory=list)
    attributes: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)

    def pin_memory(self) -> Batch:
        """Page-locked copies, so that ``to(device, non_blocking=True)`` overlaps with compute."""
        images, landmarks, visible, transforms = (t.pin_memory() for t in self._tensors())
        return Batch(images, landmarks, visible, transforms, self.keys, self.attributes)

    def to(self, device: torch.device, non_blocking: bool = False) -> Batch:
        images, landmarks, visible, transforms = (
            t.to(device, non_blocking=non_blocking) for t in self._tensors()
        )
        return Batch(images, landmarks, visible, transforms, self.keys, self.attributes)

    def _tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.images, self.landmarks, self.visible, self.transforms


@dataclass(frozen=True)
class Decoded:
    """One decoded sample."""

    key: str
    image: np.ndarray
    landmarks: np.ndarray
    visible: np.ndarray
    transform: np.ndarray
    attributes: dict[str, Any]


def decode_image(raw: RawSample, channels: int = 3) -> np.ndarray:
    """The sample's image as uint8 [H,W,channels]: RGB (greyscale expanded) for 3, luma for 1;
    JPEG through simplejpeg."""
    if channels not in (1, 3):
        raise ValueError(f"image channels: expected 1 or 3, found {channels}")
    data = raw.members.get("jpg")
    if data is not None:
        return simplejpeg.decode_jpeg(data, colorspace="RGB" if channels == 3 else "GRAY")
    for ext in ("png", "webp"):
        if ext in raw.members:
            from flmprep.imageio import decode

            rgb = decode(raw.members[ext]).pixels
            return rgb if channels == 3 else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None]
    raise DataError(f"{raw.where}: expected a .jpg, .png or .webp member, found {sorted(raw.members)}")


def decode_sample(raw: RawSample, channels: int = 3) -> Decoded:
    """Decode one raw sample (image with ``channels`` channels); errors name the shard and key."""
    doc = sample_json(raw)
    image = decode_image(raw, channels)
    try:
        landmarks = np.asarray(doc["landmarks"], dtype=np.float32).reshape(-1, 2)
        visible = np.asarray(doc["visible"], dtype=bool)
        transform = np.asarray(doc["transform"], dtype=np.float64).reshape(2, 3)
    except (KeyError, ValueError) as exc:
        raise DataError(f"{raw.where}.json: expected landmarks, visible, transform (2x3): {exc}") from exc
    if visible.shape[0] != landmarks.shape[0]:
        raise DataError(
            f"{raw.where}.json: expected {landmarks.shape[0]} visible flags, found {visible.shape[0]}"
        )
    return Decoded(raw.key, image, landmarks, visible, transform, dict(doc.get("attributes") or {}))


def collate(samples: list[Decoded]) -> Batch:
    """Stack decoded samples into a ``Batch`` (all images must share one size)."""
    shapes = {s.image.shape for s in samples}
    if len(shapes) > 1:
        raise DataError(
            f"samples {samples[0].key}..: expected one image size per batch, found {sorted(shapes)}"
        )
    return Batch(
        images=torch.from_numpy(np.stack([s.image for s in samples])),
        landmarks=torch.from_numpy(np.stack([s.landmarks for s in samples])),
        visible=torch.from_numpy(np.stack([s.visible for s in samples])),
        transforms=torch.from_numpy(np.stack([s.transform for s in samples])),
        keys=[s.key for s in samples],
        attributes=[s.attributes for s in samples],
    )


def shuffled(items: Iterator[RawSample], size: int, rng: np.random.Generator) -> Iterator[RawSample]:
    """Buffer shuffle: keep ``size`` samples, emit a random one for each new arrival, then drain."""
    if size <= 1:
        yield from items
        return
    buffer: list[RawSample] = []
    for item in items:
        if len(buffer) < size:
            buffer.append(item)
            continue
        i = int(rng.integers(len(buffer)))
        buffer[i], item = item, buffer[i]
        yield item
    order = rng.permutation(len(buffer))
    for i in order:
        yield buffer[i]


def worker_batches(
    root: Path,
    plan: WorkerPlan,
    batch_size: int,
    shuffle_buffer: int,
    seed: int,
    epoch: int,
    channels: int = 3,
) -> Iterator[Batch]:
    """Exactly ``plan.batches`` batches from one worker's segments."""
    raw: Iterator[RawSample] = (s for seg in plan.segments for s in read_segment(root, seg))
    rng = np.random.default_rng([seed, epoch, plan.rank, plan.worker])
    pending: list[Decoded] = []
    for item in shuffled(raw, shuffle_buffer, rng):
        pending.append(decode_sample(item, channels))
        if len(pending) == batch_size:
            yield collate(pending)
            pending = []
    if pending:
        yield collate(pending)


class EpochStream(IterableDataset[Batch]):
    """The batches of one rank for one epoch; each DataLoader worker streams its own plan."""

    def __init__(
        self,
        root: Path,
        plan: EpochPlan,
        rank: int,
        batch_size: int,
        shuffle_buffer: int,
        seed: int,
        epoch: int,
        channels: int = 3,
    ) -> None:
        self.root, self.plans = root, plan.workers[rank]
        self.batch_size, self.shuffle_buffer = batch_size, shuffle_buffer
        self.seed, self.epoch, self.channels = seed, epoch, channels

    def __iter__(self) -> Iterator[Batch]:
        info = get_worker_info()
        worker = 0 if info is None else info.id
        count = 1 if info is None else info.num_workers
        if count != len(self.plans):
            raise RuntimeError(f"expected {len(self.plans)} loader workers (plan), found {count}")
        yield from worker_batches(
            self.root,
            self.plans[worker],
            self.batch_size,
            self.shuffle_buffer,
            self.seed,
            self.epoch,
            self.channels,
        )


def _init_worker(_: int) -> None:
    torch.set_num_threads(1)


def make_loader(stream: EpochStream, num_workers: int, pin_memory: bool) -> DataLoader[Batch]:
    """A DataLoader over ``stream``: ``num_workers`` processes (0 = in the training process)."""
    if max(1, num_workers) != len(stream.plans):
        raise ValueError(f"expected {len(stream.plans)} workers (plan), found {num_workers}")
    return DataLoader(
        stream,
        batch_size=None,
        num_workers=num_workers,
        pin_memory=pin_memory,
        worker_init_fn=_init_worker if num_workers else None,
        prefetch_factor=4 if num_workers else None,
        persistent_workers=False,
    )
