"""Shared reader plumbing: safe image paths, record keys, number parsing, error routing."""

from __future__ import annotations

import logging
import math
import os
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from flmprep.errors import AnnotationError
from flmprep.records import FaceRecord, ReadReport, Reject

logger = logging.getLogger(__name__)

_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9-]")
_DRIVE = re.compile(r"[A-Za-z]:")


def record_key(dataset: str, name: str, face: int) -> str:
    """``{dataset}_{name without extension, unsafe chars as _}_f{face}``: never contains a dot."""
    stem = posixpath.splitext(name)[0]
    return f"{_KEY_UNSAFE.sub('_', dataset)}_{_KEY_UNSAFE.sub('_', stem)}_f{face}"


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class PathGuard:
    """Turns an annotation's image path into a normalised POSIX path relative to the root.

    Refuses absolute paths, paths whose ``..`` leave the root, and paths that reach outside
    the root through a symlink (directory symlinks are resolved once per directory).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self._links: dict[str, frozenset[str]] = {}

    def check(self, rel: str, path: Path | str, where: int | str, base: str = "") -> str:
        """The normalised path of ``base/rel`` relative to the root, or an ``AnnotationError``.

        ``rel`` is the path as the annotation gives it; backslashes count as separators.
        """
        rel = rel.replace("\\", "/")
        if not rel or "\x00" in rel:
            raise AnnotationError(str(path), where, "an image path", repr(rel))
        if rel.startswith("/") or _DRIVE.match(rel):
            raise AnnotationError(
                str(path),
                where,
                "an image path relative to the dataset root",
                f"absolute path {rel!r}",
                reason="path_outside_root",
            )
        norm = posixpath.normpath(f"{base}/{rel}" if base else rel)
        if norm == ".." or norm.startswith("../"):
            raise AnnotationError(
                str(path),
                where,
                "an image path inside the dataset root",
                f"{rel!r}, which leaves it through '..'",
                reason="path_outside_root",
            )
        if norm == ".":
            raise AnnotationError(str(path), where, "an image file name", repr(rel))
        self.check_inside(norm, path, where)
        return norm

    def check_inside(self, norm: str, path: Path | str, where: int | str) -> None:
        """Refuse a normalised relative path that reaches outside the root through a symlink."""
        if not self._resolves_inside(norm):
            raise AnnotationError(
                str(path),
                where,
                "an image inside the dataset root",
                f"{norm!r}, a symlink that resolves outside it",
                reason="path_outside_root",
            )

    def _resolves_inside(self, norm: str) -> bool:
        parent, _, name = norm.rpartition("/")
        links = self._links.get(parent)
        if links is None:
            links = self._scan(parent)
            self._links[parent] = links
        if links is _OUTSIDE:
            return False
        return name not in links or _inside(os.path.realpath(os.path.join(self.root, norm)), self.real_root)

    def _scan(self, parent: str) -> frozenset[str]:
        """The names of the symlinks in ``parent`` (one directory listing, no stat per file)."""
        folder = os.path.join(self.root, parent)
        if not _inside(os.path.realpath(folder), self.real_root):
            return _OUTSIDE
        try:
            with os.scandir(folder) as entries:
                return frozenset(e.name for e in entries if e.is_symlink())
        except (FileNotFoundError, NotADirectoryError):
            return frozenset()


_OUTSIDE: frozenset[str] = frozenset({"/"})  # marks a folder that itself resolves outside the root


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


def landmark_array(values: Sequence[float], path: Path | str, where: int | str) -> np.ndarray:
    """[K, 2] float32 from x0 y0 x1 y1 …; NaN/inf raise ``nonfinite_landmarks``."""
    if not math.isfinite(sum(values)):
        bad = next((i // 2 for i, v in enumerate(values) if not math.isfinite(v)), None)
        if bad is not None:
            raise AnnotationError(
                str(path),
                where,
                "finite landmark coordinates",
                f"point {bad} = ({values[2 * bad]}, {values[2 * bad + 1]})",
                reason="nonfinite_landmarks",
            )
    return np.array(values, dtype=np.float32).reshape(-1, 2)


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


def require_file(path: Path) -> Path:
    """``path`` if it is a file, else an AnnotationError naming it."""
    if not path.is_file():
        raise AnnotationError(str(path), "file", "an existing annotation file", "nothing there")
    return path
