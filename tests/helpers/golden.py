"""The tests' one independent writer of built datasets: tar shards with the standard library's
``tarfile``, sidecars and a manifest written from docs/architecture.md with ``json``, never with
flmprep's own writer or Manifest class, so tests of readers (inspect, verify, the trainer, the
data API) do not depend on the builder, and the builder's output can be checked against it.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

Members = list[tuple[str, bytes]]


def dumps(doc: Any) -> bytes:
    """JSON as the builder writes it: sorted keys, no spaces."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def tar_bytes(members: Members) -> bytes:
    """A tar holding ``members`` in the given order, with fixed mtime/uid/gid (reproducible bytes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write_shard(path: Path, members: Members) -> bytes:
    """Write a tar of ``members`` to ``path`` and return its bytes."""
    data = tar_bytes(members)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def _samples(members: Members) -> int:
    return len({name.split(".", 1)[0] for name, _ in members})


def write_dataset(
    out: Path,
    shards: Mapping[str, Sequence[Members]],
    *,
    dataset: str = "celeba",
    scheme: str = "celeba5",
    recipe: str = "celeba",
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A built dataset at ``out``: per split, one shard (with its sidecar) per member list, then
    ``manifest.json`` and an empty ``rejects.jsonl``; returns the manifest object."""
    splits: dict[str, Any] = {}
    for split, per_shard in shards.items():
        entries: list[dict[str, Any]] = []
        for n, members in enumerate(per_shard):
            name = f"shard-{n:04d}.tar"
            data = write_shard(out / split / name, members)
            count = _samples(members)
            entry = {"path": f"{split}/{name}", "samples": count, "records": count, "bytes": len(data),
                     "sha256": hashlib.sha256(data).hexdigest()}
            sidecar = {"schema": "flmprep.shard/1", "split": split, "name": name, "samples": count,
                       "records": count, "bytes": len(data), "sha256": entry["sha256"],
                       "rejects": {"by_reason": {}}, "rejected": []}
            (out / split / f"shard-{n:04d}.json").write_bytes(dumps(sidecar))
            entries.append(entry)
        total = sum(e["samples"] for e in entries)
        splits[split] = {"shards": entries, "samples": total, "records": total, "rejected": 0}
    samples = sum(s["samples"] for s in splits.values())
    config = config if config is not None else {"dataset": dataset, "recipe": recipe, "seed": 0}
    manifest = {
        "schema": "flmprep.manifest/1",
        "flmprep_version": "0.1.0",
        "dataset": dataset,
        "scheme": scheme,
        "recipe": recipe,
        "config": config,
        "config_hash": hashlib.sha256(dumps(config)).hexdigest(),
        "splits": splits,
        "totals": {"input_records": samples, "written_records": samples, "rejected_records": 0,
                   "samples": samples},
        "rejects": {"by_reason": {}},
    }
    (out / "manifest.json").write_bytes(dumps(manifest))
    (out / "rejects.jsonl").write_bytes(b"")
    return manifest
