"""Run every seed preset's three commands on ``flmprep synth`` data and time them.

For each preset: ``flmprep synth DATASET`` (``--n`` images), the preset's own ``flmprep build``
command, ``flmprep train --preset NAME --epochs E``, ``flmprep evaluate --split test --json``.
Prints each command as it runs and a Markdown table (NME, FR, AUC at the scheme's thresholds,
wall time of each step). The figures are for synthetic faces: they show that the pipeline runs
end to end, not how well a model does on the real dataset.

Run: ``.venv/bin/python scripts/seed_systems.py [--n 120] [--out seed-runs] [--presets a,b]
[--epochs NAME=E ...]``
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from flmprep.train.presets import PRESETS

#: Epochs each preset runs here (a few minutes each on 2 CPU cores).
EPOCHS = {
    "xlandmark": 5,
    "resnet18-wflw": 5,
    "mobilenetv3-wflw": 5,
    "shapenet-300w": 10,
    "rccnn-helen": 5,
    "xception": 5,
}


def run(argv: list[str]) -> tuple[float, str]:
    """Run ``flmprep ARGV``; returns (wall seconds, stdout). Exits on failure."""
    command = [str(Path(sys.executable).with_name("flmprep")), *argv]
    print("$ " + shlex.join(["flmprep", *argv]), flush=True)
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return seconds, done.stdout


def seed_run(name: str, n: int, epochs: int, out: Path) -> list[str]:
    """One preset's row: build, train, evaluate; metrics at the scheme's thresholds."""
    preset = PRESETS[name]
    folder = out / name
    shutil.rmtree(folder, ignore_errors=True)
    run(["synth", preset.build.dataset, str(folder / "syn"), "--n", str(n), "--seed", "0"])
    t_build, _ = run([*preset.build.argv(str(folder / "syn"), str(folder / "data")), "--no-progress"])
    t_train, log = run(["train", "--preset", name, "--data", str(folder / "data"), "-o", str(folder / "run"),
                        "--epochs", str(epochs)])
    print(log, end="")
    t_eval, report = run(["evaluate", "--data", str(folder / "data"), "--checkpoint",
                          str(folder / "run" / "best.pt"), "--split", "test", "--json"])
    doc = json.loads(report)
    scores = ", ".join(f"{title} {doc[key]:.3f}" for key, title in doc["protocol"]["columns"])
    return [name, preset.seed, str(epochs), f"{doc['count']}", f"{doc['nme']:.3f}", scores,
            f"{t_build:.1f}", f"{t_train:.1f}", f"{t_eval:.1f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=120, help="Synthetic images per dataset.")
    parser.add_argument("--out", type=Path, default=Path("seed-runs"))
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--epochs", action="append", default=[], help="NAME=E, e.g. xception=5.")
    args = parser.parse_args()
    epochs = dict(EPOCHS)
    for item in args.epochs:
        key, _, value = item.partition("=")
        epochs[key] = int(value)
    rows = [seed_run(name, args.n, epochs[name], args.out) for name in args.presets.split(",") if name]
    header = ["preset", "seed", "epochs", "test faces", "NME", "FR / AUC", "build s", "train s", "evaluate s"]
    print("\n| " + " | ".join(header) + " |\n|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
