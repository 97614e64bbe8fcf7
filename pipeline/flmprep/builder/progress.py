"""Driver-side progress (shards done / total, samples/s, rejects) and the final summary table."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from tqdm import tqdm

from flmprep.shards.manifest import Manifest


class Progress:
    """A tqdm bar over shards; ``done`` shards already count (kept by a resume)."""

    def __init__(
        self, total: int, done: int = 0, *, file: TextIO | None = None, disable: bool = False
    ) -> None:
        self._bar = tqdm(total=total, initial=done, unit="shard", desc="build", file=file or sys.stderr,
                         disable=disable, dynamic_ncols=True, mininterval=0.5)
        self._start = self._last = time.perf_counter()
        self.samples = 0
        self.rejects = 0
        self.shards = done

    def update(self, samples: int, rejects: int) -> None:
        """One more shard finished with ``samples`` written and ``rejects`` rejected records."""
        self.samples += samples
        self.rejects += rejects
        self.shards += 1
        self._last = time.perf_counter()
        self._bar.set_postfix_str(f"{self.rate:,.0f} samples/s, {self.rejects} rejects", refresh=False)
        self._bar.update(1)

    @property
    def rate(self) -> float:
        """Samples written per second, from the start to the last finished shard."""
        return self.samples / max(self._last - self._start, 1e-9)

    def close(self) -> None:
        self._bar.close()


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TiB"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    def line(row: list[str]) -> str:
        cells = zip(row, widths, strict=True)
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(cells))

    lines = [line(r) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary_table(manifest: Manifest) -> str:
    """Per-split shards, samples, records, rejected and bytes; totals; rejects by reason."""
    rows = [["split", "shards", "samples", "records", "rejected", "bytes"]]
    for name, split in manifest.splits.items():
        size = sum(s.bytes for s in split.shards)
        rows.append([name, str(len(split.shards)), f"{split.samples:,}", f"{split.records:,}",
                     f"{split.rejected:,}", _human(size)])
    t = manifest.totals
    size = sum(s.bytes for _, s in manifest.shards())
    shards = sum(1 for _ in manifest.shards())
    rows.append(["total", str(shards), f"{t.samples:,}", f"{t.written_records:,}",
                 f"{t.rejected_records:,}", _human(size)])
    text = _table(rows)
    text += f"\ninput records {t.input_records:,} = written {t.written_records:,} + rejected " \
            f"{t.rejected_records:,}"
    if manifest.read_counts:
        counted = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in manifest.read_counts.items())
        text += f"\nnot records (counted by the reader): {counted}"
    reasons = manifest.rejects_by_reason
    if reasons:
        text += "\nrejects: " + ", ".join(f"{k} {v:,}" for k, v in reasons.items())
    return text
