"""Shard sidecars and the build manifest: canonical JSON, atomic writes, sha256 checks."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flmprep.records import Reject

SIDECAR_SCHEMA = "flmprep.shard/1"
MANIFEST_SCHEMA = "flmprep.manifest/1"
_CHUNK = 1 << 20


def canonical_bytes(doc: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8, a final newline: the bytes of every JSON file we write."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode() + b"\n"


def tmp_name(path: Path) -> Path:
    """A unique temporary sibling ``NAME.<token>.tmp`` (safe for concurrent task attempts)."""
    return path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary sibling, fsync, then rename over ``path``."""
    tmp = tmp_name(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    fsync_dir(path.parent)


def write_json_atomic(path: Path, doc: Any) -> None:
    write_atomic(path, canonical_bytes(doc))


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


@dataclass(frozen=True)
class Sidecar:
    """The content of ``shard-NNNN.json``."""

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
            raise ValueError(f"{where}: expected schema {SIDECAR_SCHEMA!r}, found {doc.get('schema')!r}")
        try:
            rejected = tuple(Reject(**r) for r in doc["rejected"])
            return cls(doc["split"], doc["name"], int(doc["samples"]), int(doc["records"]),
                       int(doc["bytes"]), str(doc["sha256"]), rejected)
        except (KeyError, TypeError) as exc:
            found = f"a malformed object ({exc!r})"
            raise ValueError(f"{where}: expected a shard sidecar, found {found}") from exc


def read_sidecar(path: Path) -> Sidecar:
    """Parse a sidecar; ValueError names the file when it is not one."""
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: expected a JSON sidecar, found {exc}") from exc
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a JSON object, found {type(doc).__name__}")
    return Sidecar.from_json(doc, str(path))


def check_shard(tar: Path, sidecar: Path) -> str | None:
    """None when ``tar`` and its ``sidecar`` exist and agree on name, size and sha256; else
    why not (used by resume)."""
    if not tar.is_file() or not sidecar.is_file():
        missing = tar if not tar.is_file() else sidecar
        return f"{missing}: missing"
    try:
        side = read_sidecar(sidecar)
    except ValueError as exc:
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
