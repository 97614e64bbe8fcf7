"""Shared reader plumbing: record keys, number parsing, finite values, error routing.

Paths (image paths, annotation files, walks) go through ``flmprep.formats._paths.PathGuard``.
"""

from __future__ import annotations

import logging
import math
import posixpath
import re
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np

from flmprep.errors import AnnotationError
from flmprep.formats._paths import PathGuard, WalkedFolder
from flmprep.formats._text import iter_content_lines, iter_lines
from flmprep.records import FaceRecord, ReadReport, Reject

logger = logging.getLogger(__name__)

_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9-]")


def record_key(dataset: str, name: str, face: int) -> str:
    """``{dataset}_{name without extension, unsafe chars as _}_f{face}``: never contains a dot."""
    stem = posixpath.splitext(name)[0]
    return f"{_KEY_UNSAFE.sub('_', dataset)}_{_KEY_UNSAFE.sub('_', stem)}_f{face}"


def parse_ints(tokens: Sequence[str], path: Path | str, where: int | str, what: str) -> list[int]:
    """Base-10 integers (ASCII digits, optional sign); names the first bad token otherwise."""
    try:
        values = [int(t) for t in tokens]
    except ValueError:
        values = []
    if len(values) == len(tokens) and _plain("".join(tokens)):
        return values
    bad = next(t for t in tokens if not _is_int(t))
    raise AnnotationError(str(path), where, f"an integer {what}", repr(bad))


def parse_floats(tokens: Sequence[str], path: Path | str, where: int | str, what: str) -> list[float]:
    """Decimal numbers (no digit separators); names the first bad token otherwise."""
    try:
        values = [float(t) for t in tokens]
    except ValueError:
        values = []
    if len(values) == len(tokens) and _plain("".join(tokens)):
        return values
    bad = next(t for t in tokens if not _is_float(t))
    raise AnnotationError(str(path), where, f"a number for {what}", repr(bad))


def _plain(text: str) -> bool:
    return text.isascii() and "_" not in text


def _is_int(token: str) -> bool:
    try:
        int(token)
    except ValueError:
        return False
    return _plain(token)


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return _plain(token)


#: Values below this magnitude round to a finite float32; from it on, to inf.
_FLOAT32_ROUNDS_FINITE = 2.0**128 - 2.0**103


def stored_floats(values: Sequence[float]) -> tuple[np.ndarray, bool]:
    """``values`` cast to float32, the stored type, and whether every one is finite there: a
    float above 3.4e38 or an integer of 40 digits (or 400) becomes inf. The one finiteness
    check of every reader (landmarks and boxes)."""
    limit = _FLOAT32_ROUNDS_FINITE
    if values and -limit < min(values) and max(values) < limit and math.isfinite(sum(values)):
        return np.array(values, dtype=np.float32), True  # no NaN, no inf, nothing that overflows
    with np.errstate(over="ignore", invalid="ignore"):
        stored = np.array([_as_float(v) for v in values], dtype=np.float32)
    return stored, bool(np.isfinite(stored).all())


def _as_float(value: float) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer beyond float64
        return float("inf") if value > 0 else float("-inf")


def landmark_array(
    values: Sequence[float], path: Path | str, where: int | str, lines: Sequence[int] = ()
) -> np.ndarray:
    """[K, 2] float32 from x0 y0 x1 y1 …; a value that is NaN or inf as float32 raises
    ``nonfinite_landmarks`` at ``where``, or at ``lines[k]`` (one line per point) when given."""
    points, finite = stored_floats(values)
    if not finite:
        bad = int(np.flatnonzero(~np.isfinite(points))[0]) // 2
        raise AnnotationError(
            str(path),
            lines[bad] if lines else where,
            "finite landmark coordinates (within float32's range)",
            f"point {bad} = ({values[2 * bad]}, {values[2 * bad + 1]})",
            reason="nonfinite_landmarks",
        )
    return points.reshape(-1, 2)


def box_values(
    values: Sequence[float], path: Path | str, where: int | str
) -> tuple[float, float, float, float]:
    """(x_min, y_min, x_max, y_max) as floats; a corner beyond float32's range is an error."""
    if len(values) != 4 or not stored_floats(values)[1]:
        raise AnnotationError(
            str(path), where, "box corners within float32's range", " ".join(str(v) for v in values)
        )
    x0, y0, x1, y1 = (float(v) for v in values)
    return x0, y0, x1, y1


class KeyCollisionError(AnnotationError):
    """Two records would share a key: always raised, also with on_error='skip'."""


@dataclass
class ReadContext:
    """One reader run: where to put rejects, which keys were used, how to treat bad input."""

    root: Path
    dataset: str
    scheme: str
    report: ReadReport
    on_error: Literal["fail", "skip"]
    protocol: str = ""
    guard: PathGuard = field(init=False)
    _keys: dict[str, str] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.guard = PathGuard(self.root)

    def fail(self, err: AnnotationError, split: str = "") -> None:
        """Raise ``err`` (on_error='fail', or a key collision) or file it as a Reject ('skip')."""
        if self.on_error == "fail" or isinstance(err, KeyCollisionError):
            raise err
        logger.debug("reject %s: %s", err.reason, err)
        self.report.reject(Reject(err.key or err.origin, err.reason, str(err), err.origin, split))

    def open(self, path: Path, max_bytes: int | None = None) -> BinaryIO:
        """An annotation file, checked by the root's guard (inside the root, a regular file)."""
        return self.guard.open(path, max_bytes)

    def lines(self, path: Path, start: int = 1, max_bytes: int | None = None) -> Iterator[tuple[int, str]]:
        """The non-blank lines of a text annotation file (``_text.iter_content_lines``)."""
        return iter_content_lines(self.guard, path, start, max_bytes)

    def all_lines(self, path: Path, max_bytes: int | None = None) -> Generator[tuple[int, str], None, None]:
        """Every line of a text annotation file, blank ones included (``_text.iter_lines``)."""
        return iter_lines(self.guard, path, max_bytes)

    def walk(self, top: Path) -> Iterator[WalkedFolder]:
        """The folders below ``top``; symlinked folders are skipped, logged and counted."""
        return self.guard.walk(top, self._skipped_link)

    def _skipped_link(self, rel: str) -> None:
        logger.warning("%s: not following the symlinked folder %s", self.root, rel)
        self.report.counters["skipped_folder_links"] += 1

    def no_records(self, path: Path, split: str, expected: str = "at least one record") -> None:
        """A list or annotation file that yielded nothing: an error, or one reject under skip."""
        found = "none (the whole file holds no record)"
        self.fail(AnnotationError(str(path), "file", expected, found), split)

    def make(
        self,
        *,
        name: str,
        split: str,
        image: str,
        face: int,
        landmarks: np.ndarray,
        origin: tuple[Path | str, int | str],
        bbox: tuple[float, float, float, float] | None = None,
        attributes: dict[str, Any] | None = None,
        size: tuple[int | None, int | None] = (None, None),
        unique_key: str | None = None,
    ) -> FaceRecord:
        """A FaceRecord keyed from ``name``; a reused key is an AnnotationError.

        ``unique_key`` skips the check for formats whose ids are unique by construction (CelebA).
        """
        where = f"{origin[0]}:{origin[1]}"
        key = unique_key or record_key(self.dataset, name, face)
        first = where if unique_key else self._keys.setdefault(key, where)
        if first != where:
            raise KeyCollisionError(
                str(origin[0]),
                origin[1],
                "a record key not used before",
                f"{key!r}, already used by {first}",
                key=key,
            )
        return FaceRecord(
            key=key,
            dataset=self.dataset,
            split=split,
            image=image,
            face=face,
            scheme=self.scheme,
            landmarks=landmarks,
            bbox=bbox,
            attributes=attributes or {},
            width=size[0],
            height=size[1],
            origin=where,
        )
