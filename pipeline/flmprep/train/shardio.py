"""Read a built dataset: the manifest, and the samples of one shard segment.

Shards are read with ``flmprep.shards.reader`` (a safe streaming ustar parser, about
3× faster than ``tarfile`` here); samples are counted in tar order and only those in
the requested range are passed on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flmprep.jsonio import parse_json
from flmprep.shards import manifest as manifest_file
from flmprep.shards.reader import iter_samples
from flmprep.shards.sample import SAMPLE_SCHEMA
from flmprep.train.balance import Segment, ShardInfo


class DataError(ValueError):
    """A dataset, shard or sample that does not match the documented format."""


@dataclass(frozen=True)
class RawSample:
    """One sample's members as bytes, keyed by extension (``jpg``, ``json``, ``hm.png``)."""

    key: str
    members: dict[str, bytes]
    where: str


@dataclass(frozen=True)
class Manifest:
    """The parts of ``OUT/manifest.json`` the trainer needs."""

    root: Path
    scheme: str
    dataset: str
    splits: dict[str, tuple[ShardInfo, ...]]

    def shards(self, split: str) -> tuple[ShardInfo, ...]:
        """The shards of ``split``; raises naming the splits the manifest has."""
        if split not in self.splits or not self.splits[split]:
            have = ", ".join(sorted(k for k, v in self.splits.items() if v)) or "none"
            raise DataError(f"{self.root / 'manifest.json'}: expected split {split!r}, found splits: {have}")
        return self.splits[split]

    def samples(self, split: str) -> int:
        return sum(s.samples for s in self.shards(split))


def read_manifest(root: str | Path) -> Manifest:
    """The trainer's view of ``root/manifest.json`` (``flmprep.shards.manifest.Manifest``)."""
    root = Path(root)
    try:
        doc = manifest_file.Manifest.load(root)
    except manifest_file.ManifestError as exc:
        raise DataError(str(exc)) from exc
    splits = {name: tuple(ShardInfo(s.path, s.samples) for s in split.shards)
              for name, split in doc.splits.items()}
    return Manifest(root, doc.scheme, doc.dataset, splits)


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


def first_sample(manifest: Manifest, split: str) -> dict[str, Any]:
    """The JSON of the first sample of ``split`` (image size, scheme, heatmap settings)."""
    shard = manifest.shards(split)[0]
    for raw in read_segment(manifest.root, Segment(shard.path, 0, 1)):
        return sample_json(raw)
    raise DataError(f"{manifest.root / shard.path}: expected at least one sample, found none")


def sample_json(raw: RawSample) -> dict[str, Any]:
    """The parsed ``KEY.json`` member, checked for its schema tag."""
    data = raw.members.get("json")
    if data is None:
        raise DataError(f"{raw.where}: expected a .json member, found {sorted(raw.members)}")
    doc: dict[str, Any] = parse_json(data)
    if doc.get("schema") != SAMPLE_SCHEMA:
        raise DataError(f"{raw.where}.json: expected schema {SAMPLE_SCHEMA!r}, found {doc.get('schema')!r}")
    return doc
