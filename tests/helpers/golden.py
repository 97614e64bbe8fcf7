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


#: The ``versions`` a golden manifest records.
VERSIONS = {"flmprep": "0.1.0", "python": "3.11.7", "numpy": "2.4.6", "opencv": "5.1.0",
            "simplejpeg": "1.9.0", "libjpeg-turbo": "3.1.2", "pillow": "13.0.0"}


def dali_index(data: bytes) -> bytes:
    """The DALI index (``v1.2 N``, then per sample ``ext offset size name`` for each member,
    offsets of the member data) of a tar, from the standard library's ``tarfile``."""
    lines: list[list[str]] = []
    last = None
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for info in tar:
            if not info.isfile():
                continue
            key, ext = info.name.split(".", 1)
            if key != last:
                lines.append([])
                last = key
            lines[-1] += [ext, str(info.offset_data), str(info.size), info.name]
    return f"v1.2 {len(lines)}\n".encode() + b"".join(" ".join(line).encode() + b"\n" for line in lines)


def write_dataset(
    out: Path,
    shards: Mapping[str, Sequence[Members]],
    *,
    dataset: str = "celeba",
    scheme: str = "celeba5",
    recipe: str = "celeba",
    config: dict[str, Any] | None = None,
    legacy: bool = False,
) -> dict[str, Any]:
    """A built dataset at ``out``: per split, one shard (with its DALI index and sidecar) per
    member list, then ``manifest.json`` and an empty ``rejects.jsonl``; returns the manifest
    object. ``legacy``: sidecars and manifest of the ``/1`` formats (no index, no versions)."""
    splits: dict[str, Any] = {}
    for split, per_shard in shards.items():
        entries: list[dict[str, Any]] = []
        for n, members in enumerate(per_shard):
            name = f"shard-{n:04d}.tar"
            data = write_shard(out / split / name, members)
            count = _samples(members)
            entry: dict[str, Any] = {"path": f"{split}/{name}", "samples": count, "records": count,
                                     "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            sidecar: dict[str, Any] = {"schema": "flmprep.shard/1", "split": split, "name": name,
                                       "samples": count, "records": count, "bytes": len(data),
                                       "sha256": entry["sha256"], "rejects": {"by_reason": {}},
                                       "rejected": []}
            if not legacy:
                index = dali_index(data)
                (out / split / f"shard-{n:04d}.idx").write_bytes(index)
                digest = hashlib.sha256(index).hexdigest()
                entry["index"] = {"path": f"{split}/shard-{n:04d}.idx", "bytes": len(index), "sha256": digest}
                sidecar["schema"] = "flmprep.shard/2"
                sidecar["index"] = {"name": f"shard-{n:04d}.idx", "bytes": len(index), "sha256": digest}
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
    if not legacy:
        manifest["schema"] = "flmprep.manifest/2"
        manifest["versions"] = dict(VERSIONS)
    (out / "manifest.json").write_bytes(dumps(manifest))
    (out / "rejects.jsonl").write_bytes(b"")
    return manifest
