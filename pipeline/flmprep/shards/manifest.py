"""The two documents a build writes about its shards, as typed values: ``Sidecar`` (one
``shard-NNNN.json`` per shard) and ``Manifest`` (``OUT/manifest.json``, written last).

Every reader of a built dataset (verify, inspect, the trainer) goes through ``Manifest.load``;
the builder writes ``Manifest.to_json()``. Both round-trip: ``from_json(to_json())`` is equal.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flmprep.errors import FlmprepError
from flmprep.jsonio import parse_json
from flmprep.records import Reject

SIDECAR_SCHEMA = "flmprep.shard/1"
MANIFEST_SCHEMA = "flmprep.manifest/1"
MANIFEST_FILE = "manifest.json"
REJECTS_FILE = "rejects.jsonl"
_CHUNK = 1 << 20


class ManifestError(FlmprepError, ValueError):
    """A manifest or sidecar that is missing, not JSON, or not the documented shape."""


def file_sha256(path: Path) -> tuple[str, int]:
    """(sha256 hex, size in bytes) of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def by_reason(rejects: Iterable[Reject]) -> dict[str, int]:
    return dict(sorted(Counter(r.reason for r in rejects).items()))


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """The JSON object in ``path``; ManifestError naming the file when it is missing or not one."""
    try:
        doc = parse_json(path.read_bytes())
    except OSError as exc:
        raise ManifestError(f"{path}: expected {what}, found none ({exc.strerror or exc})") from exc
    except ValueError as exc:
        raise ManifestError(f"{path}: expected {what} in valid JSON, found: {exc}") from exc
    if not isinstance(doc, dict):
        raise ManifestError(f"{path}: expected a JSON object, found {type(doc).__name__}")
    return doc


def _malformed(where: str, what: str, exc: Exception) -> ManifestError:
    return ManifestError(f"{where}: expected {what}, found a malformed object ({exc!r})")


@dataclass(frozen=True)
class Sidecar:
    """The content of ``shard-NNNN.json``: the shard's counts, size, sha256 and the rejects of
    the records it owns."""

    split: str
    name: str
    samples: int
    records: int
    bytes: int
    sha256: str
    rejected: tuple[Reject, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SIDECAR_SCHEMA,
            "split": self.split,
            "name": self.name,
            "samples": self.samples,
            "records": self.records,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "rejects": {"by_reason": by_reason(self.rejected)},
            "rejected": [r.to_json() for r in self.rejected],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], where: str = "sidecar") -> Sidecar:
        if doc.get("schema") != SIDECAR_SCHEMA:
            raise ManifestError(f"{where}: expected schema {SIDECAR_SCHEMA!r}, found {doc.get('schema')!r}")
        try:
            rejected = tuple(Reject(**r) for r in doc["rejected"])
            return cls(doc["split"], doc["name"], int(doc["samples"]), int(doc["records"]),
                       int(doc["bytes"]), str(doc["sha256"]), rejected)
        except (KeyError, TypeError, ValueError) as exc:
            raise _malformed(where, "a shard sidecar", exc) from exc


def read_sidecar(path: Path) -> Sidecar:
    """Parse a sidecar; ManifestError names the file when it is not one."""
    return Sidecar.from_json(read_json_object(path, "a JSON sidecar"), str(path))


def check_shard(tar: Path, sidecar: Path) -> str | None:
    """None when ``tar`` and its ``sidecar`` exist and agree on name, size and sha256; else
    why not (used by resume)."""
    if not tar.is_file() or not sidecar.is_file():
        missing = tar if not tar.is_file() else sidecar
        return f"{missing}: missing"
    try:
        side = read_sidecar(sidecar)
    except ManifestError as exc:
        return str(exc)
    if side.name != tar.name:
        return f"{sidecar}: expected name {tar.name!r}, found {side.name!r}"
    size = tar.stat().st_size
    if size != side.bytes:
        return f"{tar}: expected {side.bytes} bytes (sidecar), found {size}"
    digest, _ = file_sha256(tar)
    if digest != side.sha256:
        return f"{tar}: expected sha256 {side.sha256} (sidecar), found {digest}"
    return None


@dataclass(frozen=True)
class ShardEntry:
    """One shard as the manifest lists it; ``path`` is relative to the output root."""

    path: str
    samples: int
    records: int
    bytes: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "samples": self.samples, "records": self.records,
                "bytes": self.bytes, "sha256": self.sha256}

    @classmethod
    def of(cls, split: str, side: Sidecar) -> ShardEntry:
        return cls(f"{split}/{side.name}", side.samples, side.records, side.bytes, side.sha256)


@dataclass(frozen=True)
class SplitEntry:
    """One split: its shards in index order and its counts."""

    shards: tuple[ShardEntry, ...]
    samples: int
    records: int
    rejected: int

    def to_json(self) -> dict[str, Any]:
        return {"shards": [s.to_json() for s in self.shards], "samples": self.samples,
                "records": self.records, "rejected": self.rejected}


@dataclass(frozen=True)
class Totals:
    """Record and sample totals; ``input_records = written_records + rejected_records``."""

    input_records: int
    written_records: int
    rejected_records: int
    samples: int

    def to_json(self) -> dict[str, Any]:
        return {"input_records": self.input_records, "written_records": self.written_records,
                "rejected_records": self.rejected_records, "samples": self.samples}


@dataclass(frozen=True)
class Manifest:
    """``OUT/manifest.json``: every shard of every split, the resolved config and its hash,
    totals and reject counts by reason. No timestamps: builds are byte-reproducible."""

    flmprep_version: str
    dataset: str
    scheme: str
    recipe: str
    config: dict[str, Any]
    config_hash: str
    splits: dict[str, SplitEntry]
    totals: Totals
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    schema: str = MANIFEST_SCHEMA

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "flmprep_version": self.flmprep_version,
            "dataset": self.dataset,
            "scheme": self.scheme,
            "recipe": self.recipe,
            "config": self.config,
            "config_hash": self.config_hash,
            "splits": {name: split.to_json() for name, split in self.splits.items()},
            "totals": self.totals.to_json(),
            "rejects": {"by_reason": dict(self.rejects_by_reason)},
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], where: str = MANIFEST_FILE) -> Manifest:
        """The typed manifest; ManifestError naming ``where`` on a foreign or malformed one."""
        if doc.get("schema") != MANIFEST_SCHEMA:
            raise ManifestError(f"{where}: expected schema {MANIFEST_SCHEMA!r}, found {doc.get('schema')!r}")
        try:
            splits = {str(name): _split_entry(body) for name, body in doc["splits"].items()}
            totals = Totals(**{k: int(v) for k, v in doc["totals"].items()})
            reasons = {str(k): int(v) for k, v in doc["rejects"]["by_reason"].items()}
            return cls(str(doc["flmprep_version"]), str(doc["dataset"]), str(doc["scheme"]),
                       str(doc["recipe"]), dict(doc["config"]), str(doc["config_hash"]), splits, totals,
                       reasons)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _malformed(where, "a build manifest", exc) from exc

    @classmethod
    def load(cls, root: str | Path) -> Manifest:
        """Read ``root/manifest.json``; ManifestError names the file and what is wrong."""
        path = Path(root) / MANIFEST_FILE
        return cls.from_json(read_json_object(path, "a manifest written by a flmprep build"), str(path))

    def shards(self) -> Iterator[tuple[str, ShardEntry]]:
        """(split, shard) for every listed shard, splits in manifest order."""
        for name, split in self.splits.items():
            for shard in split.shards:
                yield name, shard


def _split_entry(body: dict[str, Any]) -> SplitEntry:
    shards = tuple(ShardEntry(str(s["path"]), int(s["samples"]), int(s["records"]), int(s["bytes"]),
                              str(s["sha256"])) for s in body["shards"])
    return SplitEntry(shards, int(body["samples"]), int(body["records"]), int(body["rejected"]))
