"""Atomic file writes: a unique temporary sibling, fsync, rename into place, fsync the folder.

A reader never sees half a file, a crash leaves at most a ``NAME.<pid>-<token>.tmp`` sibling,
and concurrent writers of the same bytes (a retried or speculative task) cannot collide.
Every file flmprep writes goes through here: shards, sidecars, manifests, checkpoints, exports.
A failing operation raises ``OutputError`` naming the path and the operation.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from flmprep.errors import OutputError


def tmp_name(path: Path) -> Path:
    """A unique temporary sibling ``NAME.<pid>-<token>.tmp``."""
    return path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp")


def _step(path: Path, operation: str, action: Callable[[], object]) -> None:
    try:
        action()
    except OSError as exc:
        raise OutputError.of(path, operation, exc) from exc


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: Path) -> None:
    """``mkdir -p path``, or ``OutputError``."""
    _step(path, "create the folder", lambda: path.mkdir(parents=True, exist_ok=True))


def remove(path: Path) -> None:
    """Delete a file or an empty folder (a missing one is fine), or ``OutputError``."""
    _step(path, "delete", lambda: path.rmdir() if path.is_dir() and not path.is_symlink()
          else path.unlink(missing_ok=True))


def _flush(fh: BinaryIO) -> None:
    fh.flush()
    os.fsync(fh.fileno())


def _open(tmp: Path, path: Path) -> BinaryIO:
    try:
        return open(tmp, "wb")
    except OSError as exc:
        raise OutputError.of(path, "create", exc) from exc


@contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    """A binary file handle whose content replaces ``path`` when the block ends normally; on an
    exception the temporary file is removed and ``path`` is left as it was. An ``OSError`` of
    writing to the handle (no file name attached: a full disk, a quota) becomes ``OutputError``;
    other errors of the block pass through unchanged."""
    path = Path(path)
    tmp = tmp_name(path)
    try:
        with _open(tmp, path) as fh:
            try:
                yield fh
            except OSError as exc:
                if exc.filename is not None:
                    raise
                raise OutputError.of(path, "write", exc) from exc
            _step(path, "write", lambda: _flush(fh))
        _step(path, "rename a finished file into place as", lambda: os.replace(tmp, path))
    finally:
        tmp.unlink(missing_ok=True)
    _step(path.parent, "sync the folder", lambda: fsync_dir(path.parent))


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically."""
    with atomic_output(path) as fh:
        fh.write(data)
