"""Two gloo ranks under torchrun on unequal shards: equal step counts, each sample at most once per epoch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flmprep.train import loop as train_loop
from tests.helpers.train_shards import write_dataset

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = Path(sys.executable).with_name("torchrun")


@pytest.mark.slow
def test_two_ranks_equal_steps_no_repeats(tmp_path: Path) -> None:
    keys = write_dataset(tmp_path / "data", {"train": [37, 5, 61, 2, 13], "val": [9, 4]}, size=32, seed=2)
    out = tmp_path / "run"
    cmd = [
        str(TORCHRUN), "--standalone", "--nproc_per_node=2", "-m", "flmprep.train",
        "--data", str(tmp_path / "data"), "--model", "vanilla96", "-o", str(out),
        "--epochs", "2", "--batch-size", "8", "--workers", "1", "--shuffle-buffer", "16", "--record-keys",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "pipeline")}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    train_keys = set(keys["train"])
    for epoch in (1, 2):
        ranks = [json.loads((out / "epochs" / f"rank{r}-epoch{epoch:03d}.json").read_text()) for r in (0, 1)]
        assert ranks[0]["steps"] == ranks[1]["steps"] == 118 // 16
        seen = ranks[0]["keys"] + ranks[1]["keys"]
        assert len(seen) == len(set(seen)) == 7 * 16
        assert set(seen) <= train_keys
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [h["val"]["count"] for h in history] == [13, 13]
    assert (out / "best.pt").is_file() and (out / "last.pt").is_file()
    # rank 0 alone prints the epoch lines of `flmprep train`; without -v the ranks log nothing
    assert done.stdout.splitlines() == [train_loop.epoch_line(row) for row in history]
    assert "rank1" not in done.stderr and "INFO" not in done.stderr
    # a second run into the same folder: one error line per rank, no traceback of ours
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert again.returncode != 0
    ours = [line for line in again.stderr.splitlines() if line.startswith("flmprep.train: error: ")]
    refused = f"flmprep.train: error: {out} already holds last.pt; pass --resume or another --output"
    assert ours == [refused] * 2
    assert 'File "' + str(ROOT / "pipeline") not in again.stderr
