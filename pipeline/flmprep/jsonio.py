"""JSON in one place: the canonical bytes flmprep writes and hashes, and the strict parser for
every JSON document it reads back (manifests, sidecars, samples, reject lists, state files)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flmprep.atomic import write_atomic


def canonical_json(doc: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8, no NaN or infinity: the bytes hashes are taken of."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode()


def canonical_line(doc: Any) -> bytes:
    """``canonical_json`` and a final newline: the bytes of every JSON file and JSONL line written."""
    return canonical_json(doc) + b"\n"


def _reject_constant(token: str) -> float:
    raise ValueError(f"expected a finite JSON number, found {token}")


def parse_json(data: bytes | str) -> Any:
    """Strict JSON: NaN and Infinity are errors (``json`` would accept them). Raises ValueError
    (``json.JSONDecodeError`` or ``UnicodeDecodeError`` are subclasses) on bad input."""
    raw = data.encode() if isinstance(data, str) else data
    if b"NaN" in raw or b"Infinity" in raw:  # rare: only then pay for the hook
        return json.loads(raw, parse_constant=_reject_constant)
    return json.loads(raw)


def write_json(path: Path, doc: Any) -> None:
    """Write ``doc`` as a canonical JSON file, atomically."""
    write_atomic(path, canonical_line(doc))
