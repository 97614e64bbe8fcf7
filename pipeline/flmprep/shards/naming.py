"""Shard and sample names: ``shard-NNNN`` (at least four digits) and dot-free sample keys."""

from __future__ import annotations

import re

SHARD_RE = re.compile(r"^shard-(\d{4,})\.(tar|json|idx)$")
#: Files a build may leave behind while it runs: ``shard-NNNN.tar.<token>.tmp`` and the like.
TMP_RE = re.compile(r"^shard-\d{4,}\.(tar|json|idx)\.[A-Za-z0-9-]+\.tmp$")
KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def shard_stem(index: int) -> str:
    """``shard-0000`` for index 0; more digits once the index needs them."""
    if index < 0:
        raise ValueError(f"shard index: expected >= 0, found {index}")
    return f"shard-{index:04d}"


def shard_tar(index: int) -> str:
    return shard_stem(index) + ".tar"


def shard_sidecar(index: int) -> str:
    return shard_stem(index) + ".json"


def shard_index(index: int) -> str:
    """The DALI index file of a shard: ``shard-NNNN.idx``."""
    return shard_stem(index) + ".idx"


def parse_shard(name: str) -> tuple[int, str] | None:
    """(index, "tar"|"json"|"idx") for a shard file name, else None."""
    m = SHARD_RE.match(name)
    return (int(m.group(1)), m.group(2)) if m else None


def sample_key(record_key: str, view: int) -> str:
    """The sample key of ``view`` of a record: ``{record_key}_v{view:02d}``; never has a dot."""
    key = f"{record_key}_v{view:02d}"
    if not KEY_RE.match(key):
        raise ValueError(f"sample key: expected only [A-Za-z0-9_-], found {key!r}")
    return key


def member_order(key: str) -> str:
    """Sort key that orders samples exactly as their tar member names sort (``KEY.ext``)."""
    return key + "."
