"""Set-up of a process that builds shards (a pool worker or a Spark Python worker), done once.

- One OpenCV thread: the engine's processes are the parallelism.
- glibc malloc thresholds fixed at 16 MiB (mmap) and 32 MiB (trim). With the default dynamic
  thresholds a freed decoded source (0.2–3 MB) can be trimmed off the heap and faulted back in
  page by page for the next record. Memory stays bounded: freed blocks are reused, at most
  32 MiB of free heap is kept.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 16 << 20
TRIM_THRESHOLD = 32 << 20
_done = False


def _tune_malloc() -> bool:
    """Fix glibc's malloc thresholds; False where there is no glibc ``mallopt``."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    mmap_ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    return bool(mmap_ok) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def tune_process() -> None:
    """Idempotent: single-threaded OpenCV and fixed malloc thresholds for this process."""
    global _done
    if _done:
        return
    import cv2

    cv2.setNumThreads(1)
    if not _tune_malloc():
        log.debug("no glibc mallopt here: malloc thresholds left as they are")
    _done = True


def warm(_: object) -> int:
    """A start-up task for an engine's worker process: tune it and import the shard builder;
    returns the process id."""
    tune_process()
    from flmprep.builder import shard  # noqa: F401  (what every shard task needs)

    return os.getpid()
