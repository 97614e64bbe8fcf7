"""Atomic file writes: a unique temporary sibling, fsync, rename into place, fsync the folder.

A reader never sees half a file, a crash leaves at most a ``NAME.<pid>-<token>.tmp`` sibling,
and concurrent writers of the same bytes (a retried or speculative task) cannot collide.
Every file flmprep writes goes through here: shards, sidecars, manifests, checkpoints, exports.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def tmp_name(path: Path) -> Path:
    """A unique temporary sibling ``NAME.<pid>-<token>.tmp``."""
    return path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp")


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    """A binary file handle whose content replaces ``path`` when the block ends normally;
    on an exception the temporary file is removed and ``path`` is left as it was."""
    path = Path(path)
    tmp = tmp_name(path)
    try:
        with open(tmp, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically."""
    with atomic_output(path) as fh:
        fh.write(data)
