"""`flmprep inspect` throughput on one core: ``python -m benchmarks.bench_inspect``.

Builds 1,000-sample shards of 96×96 JPEGs (celeba5; wflw98 with and without heatmaps) in a
temporary folder, then times each stage of inspect (tar reading, validation, the whole summary)
and the command end to end in a fresh process, against `tarfile` and the pure-Python jsonschema
validator measured in the same run. Runs in about half a minute.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from jsonschema import Draft202012Validator

from benchmarks._common import machine, table
from flmprep.inspect import summarise
from flmprep.shards.reader import iter_samples
from flmprep.validate import check_sample, load_schema, parse_json
from tests.helpers.shards import shard_members, write_shard

N = 1000
SHARDS = {
    "celeba5, 96×96 jpg": {"scheme": "celeba5", "heatmap": False},
    "wflw98, 96×96 jpg": {"scheme": "wflw98", "heatmap": False},
    "wflw98 + heatmaps": {"scheme": "wflw98", "heatmap": True},
}


def best_seconds(fn: Callable[[], object], rounds: int = 5) -> float:
    """The fastest of ``rounds`` calls (the least disturbed on a shared machine)."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def read_with_tarfile(path: Path) -> int:
    with tarfile.open(path, mode="r|") as tar:
        total = 0
        for member in tar:
            handle = tar.extractfile(member)
            total += len(handle.read()) if handle is not None else 0
        return total


def count_samples(path: Path) -> int:
    return sum(1 for _ in iter_samples(path))


def check_all(path: Path) -> int:
    return sum(not check_sample(s)[1] for s in iter_samples(path))


def validate_python(path: Path) -> int:
    validator = Draft202012Validator(load_schema("sample"))
    return sum(bool(validator.is_valid(parse_json(s.get("json") or b""))) for s in iter_samples(path))


def cli_seconds(path: Path) -> float:
    """Wall time of ``flmprep inspect PATH --json`` in a fresh process (imports included)."""
    code = "import sys; from flmprep.cli import main; sys.argv = ['flmprep', *sys.argv[1:]]; main()"
    cmd = [sys.executable, "-c", code, "inspect", str(path), "--json"]

    def run() -> None:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    return best_seconds(run, rounds=3)


def bench(tmp: Path) -> None:
    rows = []
    for label, spec in SHARDS.items():
        path = tmp / f"{spec['scheme']}-{spec['heatmap']}.tar"
        records = [f"celeba_{i:06d}_f0" for i in range(N)]
        write_shard(path, shard_members(records, heatmap=bool(spec["heatmap"]), scheme=str(spec["scheme"])))
        t_tarfile = best_seconds(partial(read_with_tarfile, path))
        t_read = best_seconds(partial(count_samples, path))
        t_check = best_seconds(partial(check_all, path))
        t_py = best_seconds(partial(validate_python, path), rounds=1)
        t_sum = best_seconds(partial(summarise, path))
        t_cli = cli_seconds(path)
        rows.append(
            [
                label,
                f"{path.stat().st_size / 1e6:.1f} MB",
                f"{N / t_read:,.0f} ({t_tarfile / t_read:.1f}× tarfile)",
                f"{N / t_check:,.0f} ({t_py / t_check:.0f}× pure-Python jsonschema)",
                f"{N / t_sum:,.0f}",
                f"{t_sum * 1000:.0f} ms",
                f"{t_cli * 1000:.0f} ms",
            ]
        )
    header = [
        "shard (1,000 samples)",
        "size",
        "read samples/s",
        "read+validate samples/s",
        "inspect samples/s",
        "inspect wall",
        "CLI wall (fresh process)",
    ]
    table(f"flmprep inspect, one core — {machine()}", header, rows)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-inspect-") as tmp:
        bench(Path(tmp))


if __name__ == "__main__":
    main()
