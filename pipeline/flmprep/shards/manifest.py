"""The two documents a build writes about its shards, as typed values: ``Sidecar`` (one
``shard-NNNN.json`` per shard) and ``Manifest`` (``OUT/manifest.json``, written last).

Every reader of a built dataset (verify, inspect, the data API, the trainer) goes through
``Manifest.load``; the builder writes ``Manifest.to_json()``. Both round-trip: ``from_json(to_json())``
is equal. The ``/1`` formats (no DALI index, no library versions) are read too.
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

SIDECAR_SCHEMA = "flmprep.shard/2"
MANIFEST_SCHEMA = "flmprep.manifest/2"
SIDECAR_SCHEMAS = ("flmprep.shard/1", SIDECAR_SCHEMA)
MANIFEST_SCHEMAS = ("flmprep.manifest/1", MANIFEST_SCHEMA)
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


def _schema(doc: dict[str, Any], accepted: tuple[str, ...], where: str) -> str:
    tag = doc.get("schema")
    if tag not in accepted:
        raise ManifestError(f"{where}: expected schema {' or '.join(map(repr, accepted))}, found {tag!r}")
    return str(tag)


@dataclass(frozen=True)
class IndexRef:
    """A shard's DALI index file (``shard-NNNN.idx``, beside the tar): name, size and sha256."""

    name: str
    bytes: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "bytes": self.bytes, "sha256": self.sha256}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> IndexRef:
        return cls(str(doc["name"]), int(doc["bytes"]), str(doc["sha256"]))


@dataclass(frozen=True)
class Sidecar:
    """The content of ``shard-NNNN.json``: the shard's counts, size, sha256, its DALI index
    (None in a ``/1`` sidecar) and the rejects of the records it owns."""

    split: str
    name: str
    samples: int
    records: int
    bytes: int
    sha256: str
    rejected: tuple[Reject, ...] = ()
    index: IndexRef | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schema": SIDECAR_SCHEMA if self.index is not None else SIDECAR_SCHEMAS[0],
            "split": self.split,
            "name": self.name,
            "samples": self.samples,
            "records": self.records,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "rejects": {"by_reason": by_reason(self.rejected)},
            "rejected": [r.to_json() for r in self.rejected],
        }
        if self.index is not None:
            doc["index"] = self.index.to_json()
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any], where: str = "sidecar") -> Sidecar:
        tag = _schema(doc, SIDECAR_SCHEMAS, where)
        try:
            rejected = tuple(Reject(**r) for r in doc["rejected"])
            index = IndexRef.from_json(doc["index"]) if tag == SIDECAR_SCHEMA else None
            return cls(doc["split"], doc["name"], int(doc["samples"]), int(doc["records"]),
                       int(doc["bytes"]), str(doc["sha256"]), rejected, index)
        except (KeyError, TypeError, ValueError) as exc:
            raise _malformed(where, "a shard sidecar", exc) from exc


def read_sidecar(path: Path) -> Sidecar:
    """Parse a sidecar; ManifestError names the file when it is not one."""
    return Sidecar.from_json(read_json_object(path, "a JSON sidecar"), str(path))


def check_shard(tar: Path, sidecar: Path) -> str | None:
    """None when ``tar``, its DALI index and its ``sidecar`` exist and agree on names, sizes and
    sha256; else why not (used by resume)."""
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
    if side.index is None:
        return f"{sidecar}: expected a DALI index entry (sidecar /2), found a /1 sidecar"
    index = tar.with_name(side.index.name)
    if not index.is_file():
        return f"{index}: missing"
    if file_sha256(index) != (side.index.sha256, side.index.bytes):
        return (f"{index}: expected sha256 {side.index.sha256} and {side.index.bytes} bytes (sidecar), "
                "found others")
    return None


@dataclass(frozen=True)
class ShardEntry:
    """One shard as the manifest lists it; ``path`` is relative to the output root; ``index``
    is its DALI index beside it (None in a ``/1`` manifest)."""

    path: str
    samples: int
    records: int
    bytes: int
    sha256: str
    index: IndexRef | None = None

    @property
    def index_path(self) -> str:
        """``<split>/shard-NNNN.idx``, relative to the output root."""
        return self.path.removesuffix(".tar") + ".idx"

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"path": self.path, "samples": self.samples, "records": self.records,
                               "bytes": self.bytes, "sha256": self.sha256}
        if self.index is not None:
            doc["index"] = {"path": self.index_path, "bytes": self.index.bytes, "sha256": self.index.sha256}
        return doc

    @classmethod
    def of(cls, split: str, side: Sidecar) -> ShardEntry:
        return cls(f"{split}/{side.name}", side.samples, side.records, side.bytes, side.sha256, side.index)


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
    the versions of the libraries that shape the bytes (empty in a ``/1`` manifest), totals and
    reject counts by reason. No timestamps: the same config and versions give the same bytes.
    ``read_counts`` (``"reader"`` in the JSON, only when not empty) are what the reader counted
    that is not an input record: dlib boxes marked ``ignore``, test-set mirrors dropped by
    ``--protocol 300w``, folder links a walk did not follow."""

    flmprep_version: str
    dataset: str
    scheme: str
    recipe: str
    config: dict[str, Any]
    config_hash: str
    splits: dict[str, SplitEntry]
    totals: Totals
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    schema: str = MANIFEST_SCHEMA
    read_counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
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
        if self.schema != MANIFEST_SCHEMAS[0]:
            doc["versions"] = dict(self.versions)
        if self.read_counts:
            doc["reader"] = dict(self.read_counts)
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any], where: str = MANIFEST_FILE) -> Manifest:
        """The typed manifest (``/1`` or ``/2``); ManifestError naming ``where`` on a foreign or
        malformed one."""
        tag = _schema(doc, MANIFEST_SCHEMAS, where)
        try:
            splits = {str(name): _split_entry(body) for name, body in doc["splits"].items()}
            totals = Totals(**{k: int(v) for k, v in doc["totals"].items()})
            reasons = {str(k): int(v) for k, v in doc["rejects"]["by_reason"].items()}
            versions = {str(k): str(v) for k, v in doc["versions"].items()} if tag == MANIFEST_SCHEMA else {}
            counts = {str(k): int(v) for k, v in doc.get("reader", {}).items()}
            return cls(str(doc["flmprep_version"]), str(doc["dataset"]), str(doc["scheme"]),
                       str(doc["recipe"]), dict(doc["config"]), str(doc["config_hash"]), splits, totals,
                       reasons, versions, tag, counts)
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


def _shard_entry(s: dict[str, Any]) -> ShardEntry:
    index = s.get("index")
    ref = None if index is None else IndexRef(str(index["path"]).rpartition("/")[2], int(index["bytes"]),
                                                str(index["sha256"]))
    return ShardEntry(str(s["path"]), int(s["samples"]), int(s["records"]), int(s["bytes"]), str(s["sha256"]),
                      ref)


def _split_entry(body: dict[str, Any]) -> SplitEntry:
    shards = tuple(_shard_entry(s) for s in body["shards"])
    return SplitEntry(shards, int(body["samples"]), int(body["records"]), int(body["rejected"]))
