"""Worker-process set-up: one OpenCV thread and fixed glibc malloc thresholds, idempotently."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def _run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            timeout=60, check=True)
    return result.stdout.strip()


def test_tune_process_sets_one_opencv_thread_once() -> None:
    out = _run("""
        import cv2
        from flmprep.builder import worker
        cv2.setNumThreads(4)
        worker.tune_process()
        first = cv2.getNumThreads()
        cv2.setNumThreads(3)
        worker.tune_process()  # done already: leaves the process alone
        print(first, cv2.getNumThreads())
    """)
    assert out == "1 3"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt is Linux-only")
def test_malloc_thresholds_stop_page_faults_on_repeated_large_buffers() -> None:
    """Two 3.5 MB buffers (a decoded source and its copy) allocated and freed in a loop: with
    glibc's default dynamic thresholds the freed top of the heap exceeds the trim threshold and
    goes back to the kernel, to be faulted in again; with fixed thresholds it is reused."""
    code = """
        import resource, sys
        import numpy as np
        from flmprep.builder import worker
        if sys.argv[1] == "tuned":
            assert worker._tune_malloc()
        def faults():
            return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(3):
            np.ones(3 << 20, np.uint8)
        before = faults()
        for i in range(100):
            a = np.ones(7 << 19, np.uint8)
            b = a.copy()
            del b, a
        print(faults() - before)
    """
    runs = {}
    for mode in ("default", "tuned"):
        result = subprocess.run([sys.executable, "-c", textwrap.dedent(code), mode], capture_output=True,
                                text=True, timeout=60, check=True)
        runs[mode] = int(result.stdout.strip())
    # default: ~1,750 faults every iteration (both buffers); tuned: the first ones only
    assert runs["default"] > 100 * 500 and runs["tuned"] * 20 < runs["default"], runs


def test_warm_tunes_the_process_and_imports_the_shard_builder() -> None:
    """An engine's start-up task: afterwards the worker has one OpenCV thread and the builder loaded."""
    out = _run("""
        import os, sys
        import cv2
        cv2.setNumThreads(4)
        from flmprep.builder import worker
        assert "flmprep.builder.shard" not in sys.modules
        pid = worker.warm(0)
        print(pid == os.getpid(), cv2.getNumThreads(), "flmprep.builder.shard" in sys.modules)
    """)
    assert out == "True 1 True"
