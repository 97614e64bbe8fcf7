"""Run every benchmark in turn (``make bench``): ``python -m benchmarks [NAME ...]``."""

from __future__ import annotations

import runpy
import sys

ALL = (
    "bench_codecs",
    "bench_choices",
    "bench_recipes",
    "bench_build_local",
    "bench_inspect",
    "bench_loader",
    "bench_data",
    "bench_memory",
    "bench_train",
    "bench_predict",
    "bench_build_spark",
)


def main(names: list[str]) -> None:
    for name in names or list(ALL):
        if name not in ALL:
            raise SystemExit(f"unknown benchmark {name!r}; expected one of {', '.join(ALL)}")
        print(f"\n=== {name} ===", flush=True)
        sys.argv = [f"benchmarks.{name}"]
        runpy.run_module(f"benchmarks.{name}", run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
