"""The driver's progress counters and the per-split summary table."""

from __future__ import annotations

import io

from flmprep.builder.progress import Progress, summary_table
from flmprep.shards.manifest import Manifest, ShardEntry, SplitEntry, Totals


def _shard(path: str, size: int) -> ShardEntry:
    return ShardEntry(path, 0, 0, size, "0" * 64)


MANIFEST = Manifest(
    flmprep_version="0", dataset="celeba", scheme="celeba5", recipe="celeba", config={},
    config_hash="0" * 64,
    splits={
        "test": SplitEntry((_shard("test/shard-0000.tar", 2048),), samples=10, records=10, rejected=0),
        "train": SplitEntry(
            (_shard("train/shard-0000.tar", 4 << 20), _shard("train/shard-0001.tar", 1 << 20)),
            samples=1180, records=59, rejected=1),
    },
    totals=Totals(input_records=70, written_records=69, rejected_records=1, samples=1190),
    rejects_by_reason={"truncated_image": 1},
)


def test_summary_table_has_a_row_per_split_and_totals() -> None:
    lines = summary_table(MANIFEST).splitlines()
    assert lines[0].split() == ["split", "shards", "samples", "records", "rejected", "bytes"]
    assert lines[2].split() == ["test", "1", "10", "10", "0", "2.0", "KiB"]
    assert lines[3].split() == ["train", "2", "1,180", "59", "1", "5.0", "MiB"]
    assert lines[4].split()[:5] == ["total", "3", "1,190", "69", "1"]
    assert lines[5] == "input records 70 = written 69 + rejected 1"
    assert lines[6] == "rejects: truncated_image 1"
    assert len({len(line) for line in lines[:5]}) == 1  # aligned columns


def test_progress_counts_shards_samples_and_rejects() -> None:
    out = io.StringIO()
    progress = Progress(5, done=2, file=out)
    progress.update(100, 1)
    progress.update(50, 0)
    progress.close()
    assert (progress.shards, progress.samples, progress.rejects) == (4, 150, 1)
    assert progress.rate > 0
    text = out.getvalue()
    assert "4/5" in text and "1 rejects" in text and "samples/s" in text
