"""Read a built dataset: the manifest, and the samples of one shard segment.

Shards are read with ``flmprep.shards.reader`` (a safe streaming ustar parser, about
3× faster than ``tarfile`` here); samples are counted in tar order and only those in
the requested range are passed on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flmprep.shards.reader import iter_samples
from flmprep.train.balance import Segment, ShardInfo

MANIFEST_SCHEMA = "flmprep.manifest/1"
SAMPLE_SCHEMA = "flmprep.sample/1"


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


def _need(doc: dict[str, Any], key: str, where: str) -> Any:
    if key not in doc:
        raise DataError(f"{where}: expected key {key!r}, found keys {sorted(doc)}")
    return doc[key]


def read_manifest(root: str | Path) -> Manifest:
    """Parse ``root/manifest.json`` (schema ``flmprep.manifest/1``)."""
    root = Path(root)
    path = root / "manifest.json"
    if not path.is_file():
        raise DataError(f"{path}: expected a manifest written by `flmprep build`, found no such file")
    doc = json.loads(path.read_text("utf-8"))
    schema = doc.get("schema")
    if schema != MANIFEST_SCHEMA:
        raise DataError(f"{path}: expected schema {MANIFEST_SCHEMA!r}, found {schema!r}")
    splits: dict[str, tuple[ShardInfo, ...]] = {}
    for name, split in _need(doc, "splits", str(path)).items():
        where = f"{path}: splits.{name}"
        shards = _need(split, "shards", where)
        splits[name] = tuple(ShardInfo(str(s["path"]), int(s["samples"])) for s in shards)
    return Manifest(root, str(_need(doc, "scheme", str(path))), str(doc.get("dataset", "")), splits)


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
    doc: dict[str, Any] = json.loads(data)
    if doc.get("schema") != SAMPLE_SCHEMA:
        raise DataError(f"{raw.where}.json: expected schema {SAMPLE_SCHEMA!r}, found {doc.get('schema')!r}")
    return doc
