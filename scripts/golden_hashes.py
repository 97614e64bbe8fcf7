"""Reference outputs for refactors that must not change bytes: synthesize every dataset layout,
build it with a spread of options, render previews, and print ``sha256  path`` for every file.

    python scripts/golden_hashes.py > before.txt      # on the unchanged code
    python scripts/golden_hashes.py > after.txt       # after the change
    diff before.txt after.txt                         # no output: the same bytes

Paths are relative to the work folder (a temporary one unless ``--keep DIR`` is given), so two
runs compare line by line. The commands run through the ``flmprep`` entry point beside this
Python, as a user runs them; any failing command stops the script with its output.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

DATASETS = ("celeba", "celeba-aligned", "wflw", "300w", "helen", "pts")


@dataclass(frozen=True)
class Build:
    """One ``flmprep build`` of ``dataset`` into ``build/<name>`` with extra ``options``."""

    name: str
    dataset: str
    options: tuple[str, ...] = ()


def builds() -> list[Build]:
    """Every dataset with its default recipe, photometric jitter, heatmaps and PNG output, plus
    the cases that take other code paths (more views, flips, other kernels, colour 300W)."""
    variants = {
        "default": (),
        "photometric": ("--photometric",),
        "heatmaps": ("--heatmaps",),
        "png": ("--image-format", "png"),
    }
    return [
        *(Build(f"{d}-{v}", d, opts) for d in DATASETS for v, opts in variants.items()),
        Build("celeba-crops5", "celeba", ("--crops", "5")),
        Build("celeba-nearest", "celeba", ("--interpolation", "nearest")),
        Build("celeba-aligned-lanczos", "celeba-aligned", ("--interpolation", "lanczos", "--crops", "3")),
        Build("wflw-flip1-crops3", "wflw", ("--flip-prob", "1.0", "--crops", "3", "--photometric")),
        Build("wflw-cubic-webp", "wflw", ("--interpolation", "cubic", "--image-format", "webp")),
        Build("300w-colour-crops2", "300w", ("--colour", "--crops", "2", "--max-angle", "20")),
        Build("helen-crops4", "helen", ("--crops", "4", "--photometric")),
        Build("pts-recipe-wflw", "pts", ("--recipe", "wflw", "--crops", "2")),
    ]


#: (name, dataset, recipe, options) of each ``flmprep preview`` run.
PREVIEWS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("celeba", "celeba", "celeba", ("--n", "24")),
    ("celeba-test", "celeba", "celeba", ("--split", "test", "--labels")),
    ("celeba-aligned", "celeba-aligned", "celeba", ("--n", "8", "--photometric")),
    ("wflw", "wflw", "wflw", ("--n", "12", "--crops", "3")),
    ("300w", "300w", "300w", ("--n", "9")),
    ("helen", "helen", "helen", ("--n", "8", "--labels")),
    ("pts", "pts", "wflw", ("--n", "6", "--seed", "3")),
)


def flmprep(*args: str) -> None:
    """Run ``flmprep ARGS``; stop with its output when it fails."""
    exe = Path(sys.executable).with_name("flmprep")
    done = subprocess.run([str(exe), *args], capture_output=True, text=True)
    if done.returncode != 0:
        command = " ".join(args)
        sys.exit(f"golden_hashes: flmprep {command}: exit {done.returncode}\n{done.stdout}{done.stderr}")


def make_outputs(work: Path, n: int, workers: int) -> None:
    """Synthesize, build and preview everything under ``work``."""
    for d in DATASETS:
        flmprep("synth", d, str(work / "data" / d), "--n", str(n), "--seed", "0")
    for b in builds():
        flmprep("build", "--dataset", b.dataset, "--root", str(work / "data" / b.dataset),
                "--out", str(work / "build" / b.name), "--workers", str(workers), *b.options)
    (work / "preview").mkdir()
    for name, dataset, recipe, opts in PREVIEWS:
        flmprep("preview", dataset, str(work / "data" / dataset), "--recipe", recipe,
                "--out", str(work / "preview" / f"{name}.png"), *opts)


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--keep", type=Path, help="write the outputs here (an empty or new folder)")
    parser.add_argument("--n", type=int, default=12, help="images per synthetic dataset (default 12)")
    parser.add_argument("--workers", type=int, default=2, help="build workers (default 2)")
    args = parser.parse_args()
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        sys.exit(f"golden_hashes: {args.keep}: expected an empty or new folder, found files in it")
    work = args.keep or Path(tempfile.mkdtemp(prefix="golden-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        make_outputs(work, args.n, args.workers)
        for path in sorted(p for p in work.rglob("*") if p.is_file()):
            print(f"{digest(path)}  {path.relative_to(work).as_posix()}")
    finally:
        if args.keep is None:
            shutil.rmtree(work)


if __name__ == "__main__":
    main()
