"""--shard-bytes: shards land within ±20 % of the target, whatever the recipe and codec, because
the sample count is measured on real encoded views of the dataset."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
FLMPREP = str(Path(sys.executable).parent / "flmprep")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sizing")
    for dataset in ("celeba", "wflw"):
        subprocess.run([FLMPREP, "synth", dataset, str(root / dataset), "--n", "40", "--seed", "4"],
                       check=True, capture_output=True)
    return root


@pytest.mark.parametrize(("dataset", "target", "extra"), [
    ("celeba", 200_000, ("--crops", "10")),
    ("celeba", 120_000, ("--crops", "5", "--image-format", "png")),
    ("wflw", 1_000_000, ("--heatmaps",)),
])
def test_shards_land_near_the_target(data: Path, tmp_path: Path, dataset: str, target: int,
                                     extra: tuple[str, ...]) -> None:
    out = tmp_path / "out"
    cmd = [FLMPREP, "build", "--dataset", dataset, "--root", str(data / dataset), "--out", str(out),
           "--shard-bytes", str(target), "--no-progress", "--workers", "2", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_bytes())
    assert manifest["config"]["shard_bytes"] == target
    sizes = [s["bytes"] for split in manifest["splits"].values() for s in split["shards"][:-1]]
    assert sizes, "expected splits of more than one shard"
    assert all(0.8 * target <= size <= 1.2 * target for size in sizes), (sizes, target)
