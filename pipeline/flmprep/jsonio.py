"""JSON in one place: the canonical bytes flmprep writes and hashes, and the strict parser for
every JSON document it reads back (manifests, sidecars, samples, reject lists, state files)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import orjson

from flmprep.atomic import write_atomic


def canonical_json(doc: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8, no NaN or infinity: the bytes hashes are taken of."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode()


def canonical_line(doc: Any) -> bytes:
    """``canonical_json`` and a final newline: the bytes of every JSON file and JSONL line written."""
    return canonical_json(doc) + b"\n"


#: How deep a JSON document may nest (orjson's limit): deeper input is refused, never recursed into.
MAX_DEPTH = 1024


def parse_json(data: bytes | str) -> Any:
    """Strict JSON for everything a user hands us: NaN and Infinity are errors (``json`` would
    accept them), nesting deeper than ``MAX_DEPTH`` is an error (never a ``RecursionError``).
    Raises ValueError (``json.JSONDecodeError``) naming the line and column."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "infinity" in exc.msg:  # 1e999: valid JSON; json gives inf, for checks to name the field
            return _parse_overflowing(data, exc)
        raise ValueError(_explain(exc, data)) from exc


def _parse_overflowing(data: bytes | str, exc: orjson.JSONDecodeError) -> Any:
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError(f"line {exc.lineno}: expected JSON nested at most {MAX_DEPTH} levels deep, "
                         "found deeper nesting") from None


def _reject_constant(token: str) -> float:
    raise ValueError(f"expected a finite JSON number, found {token}")


def _explain(exc: orjson.JSONDecodeError, data: bytes | str) -> str:
    where = f"line {exc.lineno} column {exc.colno}"
    if "depth limit" in exc.msg:
        return f"{where}: expected JSON nested at most {MAX_DEPTH} levels deep, found deeper nesting"
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    token = raw[exc.pos:exc.pos + 9]
    for constant in (b"NaN", b"Infinity", b"-Infinity"):
        if token.startswith(constant):
            return f"{where}: expected a finite JSON number, found {constant.decode()}"
    return f"{where}: {exc.msg}"


def write_json(path: Path, doc: Any) -> None:
    """Write ``doc`` as a canonical JSON file, atomically."""
    write_atomic(path, canonical_line(doc))


def finite_json(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    return value
