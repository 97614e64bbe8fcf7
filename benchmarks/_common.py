"""Small timing helpers shared by the benchmarks: best-of-rounds rates, Markdown tables."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable

import cv2


def rate(fn: Callable[[], object], seconds: float = 0.2, rounds: int = 5) -> float:
    """Calls per CPU second of ``fn`` (this process's CPU time, so that other processes on a
    shared machine disturb the figure little): the best of ``rounds`` rounds of about
    ``seconds / rounds`` each. Single-threaded code only (call ``cv2.setNumThreads(1)``)."""
    fn()
    n, start = 1, time.process_time()
    while time.process_time() - start < seconds / rounds:
        fn()
        n += 1
    best = 0.0
    for _ in range(rounds):
        t0 = time.process_time()
        for _ in range(n):
            fn()
        best = max(best, n / (time.process_time() - t0))
    return best


def machine() -> str:
    """One line naming the machine and the library versions that matter for the numbers."""
    cpu = platform.processor() or platform.system()
    return f"{platform.machine()} {cpu}, Python {platform.python_version()}, OpenCV {cv2.__version__}"


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """Print a Markdown table."""
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
