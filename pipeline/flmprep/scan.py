"""Summary of a dataset's native annotations: per split images, faces and rejects by reason."""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np

from flmprep.formats import read_dataset, scheme_of
from flmprep.records import FaceRecord, ReadReport

logger = logging.getLogger(__name__)

SPLIT_ORDER = ("train", "val", "test", "test_common", "test_challenge")
NO_SPLIT = ""


@dataclass(frozen=True)
class SplitSummary:
    """One split: distinct images with a parsed face, parsed faces, rejects by reason."""

    images: int
    faces: int
    rejects: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"images": self.images, "faces": self.faces, "rejects": dict(sorted(self.rejects.items()))}


@dataclass(frozen=True)
class ScanSummary:
    """What ``flmprep scan`` reports; ``splits`` is ordered as ``SPLIT_ORDER``, others, then ""."""

    dataset: str
    root: str
    scheme: str
    splits: dict[str, SplitSummary]
    counters: dict[str, int]

    @property
    def total(self) -> SplitSummary:
        rejects: Counter[str] = Counter()
        for s in self.splits.values():
            rejects.update(s.rejects)
        return SplitSummary(
            sum(s.images for s in self.splits.values()),
            sum(s.faces for s in self.splits.values()),
            dict(rejects),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "root": self.root,
            "scheme": self.scheme,
            "splits": {name: s.to_json() for name, s in self.splits.items()},
            "total": self.total.to_json(),
            "counters": dict(sorted(self.counters.items())),
        }


def record_line(record: FaceRecord) -> str:
    """One ``--records`` JSON line; landmarks as the shortest decimals that give back the float32."""
    doc = record.to_json()
    doc["landmarks"] = [[float(str(x)), float(str(y))] for x, y in record.landmarks.astype(np.float32)]
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def scan(
    dataset: str,
    root: str | Path,
    *,
    on_error: Literal["fail", "skip"] = "skip",
    records_out: IO[str] | None = None,
    protocol: str | None = None,
) -> ScanSummary:
    """Read every record of ``dataset`` at ``root`` once; optionally write each as a JSON line.

    ``protocol`` is passed to ``read_dataset`` (``300w``: "dlib" or "300w")."""
    report = ReadReport()
    images: dict[str, set[str]] = defaultdict(set)
    faces: Counter[str] = Counter()
    for record in read_dataset(dataset, root, on_error=on_error, report=report, protocol=protocol):
        images[record.split].add(record.image)
        faces[record.split] += 1
        if records_out is not None:
            records_out.write(record_line(record) + "\n")
    rejects: dict[str, Counter[str]] = defaultdict(Counter)
    for reject in report.rejects:
        rejects[reject.split][reject.reason] += 1
    names = sorted(set(faces) | set(rejects), key=_split_rank)
    splits = {n: SplitSummary(len(images[n]), faces[n], dict(rejects[n])) for n in names}
    counters = dict(report.counters)
    if dataset == "300w":
        counters.setdefault("ignored_boxes", 0)
    logger.info(
        "scanned %s at %s: %d faces, %d rejects", dataset, root, sum(faces.values()), len(report.rejects)
    )
    return ScanSummary(dataset, str(root), scheme_of(dataset), splits, counters)


def _split_rank(name: str) -> tuple[int, str]:
    if name in SPLIT_ORDER:
        return SPLIT_ORDER.index(name), name
    return (len(SPLIT_ORDER) + 1, name) if name == NO_SPLIT else (len(SPLIT_ORDER), name)


def format_summary(summary: ScanSummary) -> str:
    """The human-readable table ``flmprep scan`` prints."""
    rows = [("split", "images", "faces", "rejects")]
    for name, split in [*summary.splits.items(), ("total", summary.total)]:
        rows.append((name or "(no split)", str(split.images), str(split.faces), _rejects_cell(split.rejects)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{summary.dataset} at {summary.root} (scheme {summary.scheme})"]
    for row in rows:
        lines.append(
            f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}".rstrip()
        )
    lines += [f"{name.replace('_', ' ')}: {value}" for name, value in sorted(summary.counters.items())]
    return "\n".join(lines)


def _rejects_cell(rejects: dict[str, int]) -> str:
    total = sum(rejects.values())
    if not total:
        return "0"
    return f"{total} (" + ", ".join(f"{reason} {n}" for reason, n in sorted(rejects.items())) + ")"
