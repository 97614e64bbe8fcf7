"""A configured ``webdataset.WebDataset`` pipeline over a built split (torch-free to build).

The URLs come from the manifest; each rank and loader worker opens only the shards of its
``balance.plan_epoch`` share and keeps only its sample range of each (so a one-shard split
feeds two ranks and two workers), shuffles in the same seeded buffer, and decodes with the
handlers of ``handlers()``: JPEG through simplejpeg, ``hm.png`` into [K, h, w] float maps,
JSON through orjson. The samples are the dicts of ``flmprep.data.decode`` (numpy arrays), equal
to what ``LandmarkDataset`` yields for the same rank, worker, seed and epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import webdataset as wds

from flmprep.data.balance import WorkerPlan, plan_epoch, rank_and_world
from flmprep.data.built import BuiltDataset, DataError, open_dataset, parse_sample_json
from flmprep.data.decode import IMAGE_EXTS, decode_heatmaps, decode_image_bytes, sample_arrays, shuffled
from flmprep.shards.sample import HEATMAP_MEMBER

Handler = Callable[[str, bytes], Any]


def handlers(num_points: int, image_formats: tuple[str, ...] = IMAGE_EXTS) -> list[Handler]:
    """WebDataset decoders for flmprep members: ``hm.png`` (first: ``png`` would match it too),
    the JSON and the images of ``image_formats`` (a build has one: its ``image_format``)."""
    return [
        wds.handle_extension(HEATMAP_MEMBER, partial(decode_heatmaps, num_points=num_points)),
        wds.handle_extension("json", partial(parse_sample_json, where="webdataset sample")),
        *(wds.handle_extension(ext, partial(decode_image_bytes, ext=ext)) for ext in image_formats),
    ]


class _Share:
    """The calling (rank, worker)'s part of the epoch: which shards to open, which samples of
    each to keep. Planned in each loader worker, from webdataset's view of the worker."""

    def __init__(self, root: Path, shards: Any, *, rank: int, world: int, batch_size: int, seed: int,
                 epoch: int, drop_last: bool, shuffle: bool, shuffle_buffer: int) -> None:
        self.root, self.shards, self.rank, self.world = root, shards, rank, world
        self.batch_size, self.seed, self.epoch = batch_size, seed, epoch
        self.drop_last, self.shuffle, self.shuffle_buffer = drop_last, shuffle, shuffle_buffer

    def plan(self) -> WorkerPlan:
        _, _, worker, workers = wds.utils.pytorch_worker_info()
        epoch = plan_epoch(self.shards, world=self.world, workers=workers, batch_size=self.batch_size,
                           seed=self.seed, epoch=self.epoch, drop_last=self.drop_last, shuffle=self.shuffle)
        return epoch.workers[self.rank][worker]

    def urls(self, _: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Stage replacing webdataset's node and worker splitters: this share's shards, in order."""
        for seg in self.plan().segments:
            yield {"url": str(self.root / seg.path)}

    def samples(self, samples: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Stage after the tar reader: only this share's sample range of each shard, shuffled in
        the buffer ``LandmarkDataset`` uses (same seed, same order)."""
        plan = self.plan()
        rng = np.random.default_rng([self.seed, self.epoch, plan.rank, plan.worker])
        return shuffled(self._selected(samples, plan), self.shuffle_buffer, rng)

    def _selected(self, samples: Iterator[dict[str, Any]], plan: WorkerPlan) -> Iterator[dict[str, Any]]:
        ranges = {str(self.root / seg.path): (seg.start, seg.stop) for seg in plan.segments}
        url, count, start, stop = "", 0, 0, 0
        for sample in samples:
            if sample["__url__"] != url:
                url, count = sample["__url__"], 0
                start, stop = ranges[url]
            if start <= count < stop:
                yield sample
            count += 1


def to_sample(sample: dict[str, Any], heatmaps: bool) -> dict[str, Any]:
    """A webdataset sample decoded by ``handlers`` as the dict of ``flmprep.data.decode``."""
    key = sample["__key__"]
    out = sample_arrays(key, sample["json"], f"{sample['__url__']}:{key}")
    ext = next((e for e in IMAGE_EXTS if e in sample), None)
    if ext is None:
        raise DataError(f"{sample['__url__']}:{key}: expected a .jpg, .png or .webp member")
    out["image"] = sample[ext]
    if heatmaps:
        out["heatmaps"] = sample[HEATMAP_MEMBER]
    return out


def _without_heatmaps(sample: dict[str, Any]) -> dict[str, Any]:
    sample.pop(HEATMAP_MEMBER, None)
    return sample


def webdataset_pipeline(data: str | Path | BuiltDataset, split: str = "train", *, batch_size: int = 32,
                        shuffle: bool | None = None, drop_last: bool | None = None, shuffle_buffer: int = 256,
                        seed: int = 0, epoch: int = 0, rank: int | None = None, world: int | None = None,
                        heatmaps: bool | None = None) -> wds.WebDataset:
    """A ``webdataset.WebDataset`` yielding the decoded samples of this rank's share of ``split``
    (the options mean what they mean for ``LandmarkDataset``). Batch it with ``batch_size``:
    ``.batched(batch_size)`` or ``DataLoader(pipeline, batch_size=batch_size, num_workers=N)``.
    One pipeline is one epoch: make one per epoch with ``epoch=e`` to reshuffle."""
    built = data if isinstance(data, BuiltDataset) else open_dataset(data)
    shuffle = split == "train" if shuffle is None else shuffle
    rank, world = rank_and_world(rank, world)
    share = _Share(built.root, built.shards(split), rank=rank, world=world, batch_size=batch_size, seed=seed,
                   epoch=epoch, drop_last=shuffle if drop_last is None else drop_last, shuffle=shuffle,
                   shuffle_buffer=shuffle_buffer if shuffle else 0)
    share.plan()  # refuse now a split that cannot feed the ranks
    with_maps = built.has_heatmaps if heatmaps is None else heatmaps
    pipeline = wds.WebDataset(built.urls(split), shardshuffle=False, nodesplitter=share.urls,
                              workersplitter=None, empty_check=False)
    pipeline = pipeline.compose(share.samples)
    if built.has_heatmaps and not with_maps:
        pipeline = pipeline.map(_without_heatmaps)
    formats = (str(built.manifest.config.get("image_format", "jpg")),)
    return pipeline.decode(*handlers(built.num_points, formats)).map(partial(to_sample, heatmaps=with_maps))
