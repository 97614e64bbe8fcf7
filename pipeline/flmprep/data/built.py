"""A built dataset on disk: its manifest (``flmprep.shards.manifest.Manifest``), the shards of
each split, and the samples of one shard segment.

Shards are read with ``flmprep.shards.reader`` (a safe streaming ustar parser, about 3× faster
than ``tarfile`` here); samples are counted in tar order and only those in the requested range
are passed on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from flmprep.data.balance import Segment, ShardInfo
from flmprep.errors import FlmprepError
from flmprep.schemes import get_scheme
from flmprep.shards.manifest import MANIFEST_FILE, Manifest, ManifestError
from flmprep.shards.reader import iter_samples
from flmprep.shards.sample import SAMPLE_SCHEMAS

log = logging.getLogger(__name__)


class DataError(FlmprepError, ValueError):
    """A dataset, shard or sample that does not match the documented format."""


class SampleError(DataError):
    """One sample that cannot be decoded (bad JSON, a corrupt image or heatmap member); the shard
    around it is sound, so a reader may skip it. The message starts with the sample's ``where``."""


@dataclass(frozen=True)
class RawSample:
    """One sample's members as bytes, keyed by extension (``jpg``, ``json``, ``hm.png``);
    ``where`` names it (``<split>/shard-NNNN.tar:KEY``) in errors."""

    key: str
    members: dict[str, bytes]
    where: str


@dataclass(frozen=True)
class BuiltDataset:
    """The output folder of a build and its manifest: what every reader starts from."""

    root: Path
    manifest: Manifest

    @property
    def scheme(self) -> str:
        return self.manifest.scheme

    @property
    def dataset(self) -> str:
        return self.manifest.dataset

    @property
    def num_points(self) -> int:
        """K, the landmarks per sample (from the scheme)."""
        return get_scheme(self.manifest.scheme).num_points

    @property
    def has_heatmaps(self) -> bool:
        """Whether the samples carry ``KEY.hm.png``."""
        return bool(self.manifest.config.get("heatmaps"))

    @property
    def splits(self) -> dict[str, tuple[ShardInfo, ...]]:
        """Every split's shards (relative paths and sample counts) in manifest order."""
        return {name: tuple(ShardInfo(s.path, s.samples) for s in split.shards)
                for name, split in self.manifest.splits.items()}

    def shards(self, split: str) -> tuple[ShardInfo, ...]:
        """The shards of ``split``; raises naming the splits the manifest has."""
        shards = self.splits.get(split)
        if not shards:
            have = ", ".join(sorted(k for k, v in self.splits.items() if v)) or "none"
            raise DataError(f"{self.root / MANIFEST_FILE}: expected split {split!r}, found splits: {have}")
        return shards

    def samples(self, split: str) -> int:
        return sum(s.samples for s in self.shards(split))

    def urls(self, split: str) -> list[str]:
        """The absolute paths of the split's tars, in index order (what WebDataset, Ray and
        DALI take)."""
        return [str(self.root / s.path) for s in self.shards(split)]

    def index_paths(self, split: str) -> list[str]:
        """The absolute paths of the split's DALI index files, aligned with ``urls``."""
        entries = self.manifest.splits[split].shards if split in self.manifest.splits else ()
        if any(e.index is None for e in entries):
            raise DataError(f"{self.root / MANIFEST_FILE}: expected DALI index files (manifest /2), found a "
                            "build without them; rebuild it")
        self.shards(split)
        return [str(self.root / e.index_path) for e in entries]


def open_dataset(root: str | Path) -> BuiltDataset:
    """The built dataset at ``root`` (reads ``root/manifest.json``, ``/1`` or ``/2``)."""
    path = Path(root)
    try:
        return BuiltDataset(path, Manifest.load(path))
    except ManifestError as exc:
        raise DataError(str(exc)) from exc


def read_segment(root: Path, segment: Segment) -> Iterator[RawSample]:
    """The samples ``segment.start`` to ``segment.stop`` of one shard, in tar order."""
    path = root / segment.path
    count = 0
    for sample in iter_samples(path):
        if count >= segment.start:
            yield RawSample(sample.key, dict(sample.members), f"{segment.path}:{sample.key}")
        count += 1
        if count >= segment.stop:
            return
    raise DataError(f"{path}: expected at least {segment.stop} samples (manifest), found {count}")


def readable_samples(built: BuiltDataset, split: str) -> Iterator[tuple[RawSample, dict[str, Any]]]:
    """Every sample of ``split`` whose JSON parses, with that JSON; a corrupt one is logged and
    skipped, as the loader skips it (a broken shard still raises)."""
    for shard in built.shards(split):
        for raw in read_segment(built.root, Segment(shard.path, 0, shard.samples)):
            try:
                yield raw, sample_json(raw)
            except DataError as exc:
                log.warning("skipped a corrupt sample: %s", exc)


def first_sample(built: BuiltDataset, split: str) -> dict[str, Any]:
    """The JSON of the first readable sample of ``split`` (image size, scheme, heatmap settings)."""
    for _, doc in readable_samples(built, split):
        return doc
    raise DataError(f"{built.root / built.shards(split)[0].path}: expected a sample with readable JSON in "
                    f"split {split!r}, found none")


def parse_sample_json(data: bytes, where: str) -> dict[str, Any]:
    """A ``KEY.json`` member, checked to be an object of a sample format we read (``/1``, ``/2``);
    orjson refuses NaN and infinity."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DataError(f"{where}.json: expected valid JSON, found: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("schema") not in SAMPLE_SCHEMAS:
        tag = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        expected = " or ".join(map(repr, SAMPLE_SCHEMAS))
        raise DataError(f"{where}.json: expected schema {expected}, found {tag!r}")
    return doc


def sample_json(raw: RawSample) -> dict[str, Any]:
    """The parsed ``KEY.json`` member of a raw sample."""
    data = raw.members.get("json")
    if data is None:
        raise DataError(f"{raw.where}: expected a .json member, found {sorted(raw.members)}")
    return parse_sample_json(data, raw.where)
