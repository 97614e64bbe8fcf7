"""Summarise a shard or a built dataset in one streaming pass: counts, members, images, landmarks,
augmentation ranges, heatmap settings and schema validity; render a contact sheet of samples.

Nothing is extracted to disk; reading goes through ``flmprep.shards.reader``.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flmprep import draw, imageio, targets
from flmprep.schemes import get_scheme
from flmprep.shards.manifest import MANIFEST_FILE, Manifest, ManifestError
from flmprep.shards.reader import Limits, Sample, ShardReadError, iter_samples
from flmprep.validate import check_sample

log = logging.getLogger(__name__)
MODES = {1: "L", 3: "RGB"}
MIN_TILE = 192  # smaller images are enlarged (by an integer factor) before drawing


def _inside(root: Path, rel: str, manifest: Path) -> Path:
    """``root / rel``, refusing manifest paths that would leave ``root``."""
    if Path(rel).is_absolute() or ".." in Path(rel).parts:
        raise ShardReadError(
            str(manifest), "unsafe_name", f"expected shard paths inside the folder, found {rel!r}"
        )
    return root / rel


def shard_paths(path: Path) -> list[Path]:
    """The shards of ``path``: itself if a file, else the manifest's shards, else every ``*.tar`` below."""
    if not path.is_dir():
        return [path]
    if (path / MANIFEST_FILE).is_file():
        try:
            manifest = Manifest.load(path)
        except ManifestError as e:
            log.warning("%s; listing *.tar files instead", e)
        else:
            return [_inside(path, entry.path, path / MANIFEST_FILE) for _, entry in manifest.shards()]
    found = sorted(p for p in path.rglob("*.tar") if p.is_file())
    if not found:
        raise ShardReadError(str(path), "unreadable", "expected shards (*.tar) in this folder, found none")
    return found


@dataclass(frozen=True)
class SampleRow:
    """One line of ``--samples``: what a sample holds, without pixels."""

    key: str
    shard: str
    members: tuple[tuple[str, int], ...]
    doc: dict[str, Any] | None
    problems: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {"key": self.key, "shard": self.shard, "members": dict(self.members)}
        if self.doc is not None:
            aug = self.doc.get("augment", {})
            image = self.doc.get("image", {})
            row.update(
                scheme=self.doc.get("scheme"),
                split=self.doc.get("split"),
                size=[image.get("width"), image.get("height")],
                visible=sum(bool(v) for v in self.doc.get("visible", [])),
                points=len(self.doc.get("landmarks", [])),
                view=aug.get("view"),
                angle=aug.get("angle"),
                scale=aug.get("scale"),
                flip=aug.get("flip"),
            )
        row["valid"] = not self.problems
        return row


def _numeric_leaves(prefix: str, value: Any) -> Iterator[tuple[str, float | bool]]:
    """Dotted names and values of the numbers and booleans in a nested JSON value."""
    if isinstance(value, bool | int | float):
        yield prefix, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _numeric_leaves(f"{prefix}.{k}" if prefix else k, v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _numeric_leaves(f"{prefix}.{i}", v)


@dataclass
class _Stats:
    """Accumulates the summary while samples stream past (mutable, private)."""

    samples: int = 0
    first_key: str = ""
    last_key: str = ""
    member_count: Counter[str] = field(default_factory=Counter)
    member_bytes: Counter[str] = field(default_factory=Counter)
    sizes: Counter[str] = field(default_factory=Counter)
    modes: Counter[str] = field(default_factory=Counter)
    schemes: Counter[str] = field(default_factory=Counter)
    splits: Counter[str] = field(default_factory=Counter)
    heatmaps: Counter[str] = field(default_factory=Counter)
    points: int = 0
    visible: int = 0
    lo: list[float] = field(default_factory=lambda: [math.inf, math.inf])
    hi: list[float] = field(default_factory=lambda: [-math.inf, -math.inf])
    ranges: dict[str, list[float]] = field(default_factory=dict)
    flags: dict[str, list[int]] = field(default_factory=dict)
    invalid: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)

    def add(self, sample: Sample, doc: dict[str, Any] | None, problems: list[str], shard: str) -> None:
        self.samples += 1
        self.first_key = self.first_key or sample.key
        self.last_key = sample.key
        for ext, data in sample.members:
            self.member_count[ext] += 1
            self.member_bytes[ext] += len(data)
        if problems:
            self.invalid.append((shard, sample.key, tuple(problems)))
        if doc is not None and not problems:
            self._add_doc(doc)

    def _add_doc(self, doc: dict[str, Any]) -> None:
        image = doc["image"]
        self.sizes[f"{image['width']}x{image['height']}"] += 1
        self.modes[f"{image['format']} {MODES[image['channels']]}"] += 1
        self.schemes[doc["scheme"]] += 1
        self.splits[doc["split"]] += 1
        hm = doc.get("heatmap")
        self.heatmaps[
            "none"
            if hm is None
            else "{}x{} sigma={} tiles={}x{}".format(*hm["size"], hm["sigma"], *hm["tiles"])
        ] += 1
        vis = doc["visible"]
        self.points += len(vis)
        self.visible += sum(vis)
        xs, ys = zip(*doc["landmarks"], strict=True)
        self.lo = [min(self.lo[0], *xs), min(self.lo[1], *ys)]
        self.hi = [max(self.hi[0], *xs), max(self.hi[1], *ys)]
        for name, value in _numeric_leaves("", doc["augment"]):
            self._add_value(name, value)

    def _add_value(self, name: str, value: float | bool) -> None:
        if isinstance(value, bool):
            counts = self.flags.setdefault(name, [0, 0])
            counts[0] += value
            counts[1] += 1
            return
        span = self.ranges.setdefault(name, [value, value])
        span[0], span[1] = min(span[0], value), max(span[1], value)


@dataclass(frozen=True)
class Summary:
    """What ``flmprep inspect`` reports; ``to_json()`` is the ``--json`` output."""

    paths: tuple[str, ...]
    bytes: int
    stats: _Stats
    rows: tuple[SampleRow, ...]
    shown: SampleRow | None

    @property
    def valid(self) -> int:
        return self.stats.samples - len(self.stats.invalid)

    def to_json(self) -> dict[str, Any]:
        s = self.stats
        bbox = None if s.points == 0 else [*s.lo, *s.hi]
        doc: dict[str, Any] = {
            "paths": list(self.paths),
            "shards": len(self.paths),
            "bytes": self.bytes,
            "samples": s.samples,
            "keys": {"first": s.first_key, "last": s.last_key},
            "members": {
                e: {"count": s.member_count[e], "bytes": s.member_bytes[e]} for e in sorted(s.member_count)
            },
            "image_sizes": dict(sorted(s.sizes.items())),
            "image_modes": dict(sorted(s.modes.items())),
            "schemes": {n: {"count": c, "K": get_scheme(n).num_points} for n, c in sorted(s.schemes.items())},
            "splits": dict(sorted(s.splits.items())),
            "visibility": {
                "visible": s.visible,
                "points": s.points,
                "rate": s.visible / s.points if s.points else None,
            },
            "landmark_bbox": bbox,
            "augment": {
                "ranges": dict(sorted(s.ranges.items())),
                "true_rate": {k: v[0] / v[1] for k, v in sorted(s.flags.items())},
            },
            "heatmaps": dict(sorted(s.heatmaps.items())),
            "validation": {
                "schema": "schemas/sample.schema.json",
                "valid": self.valid,
                "invalid": [{"shard": sh, "key": k, "problems": list(p)} for sh, k, p in s.invalid],
            },
        }
        if self.rows:
            doc["sample_list"] = [r.to_json() for r in self.rows]
        if self.shown is not None:
            doc["sample"] = {
                **self.shown.to_json(),
                "json": self.shown.doc,
                "problems": list(self.shown.problems),
            }
        return doc


def _row(sample: Sample, doc: dict[str, Any] | None, problems: list[str], shard: str) -> SampleRow:
    members = tuple((ext, len(data)) for ext, data in sample.members)
    return SampleRow(sample.key, shard, members, doc, tuple(problems))


def iter_checked(
    paths: list[Path], limits: Limits | None = None
) -> Iterator[tuple[str, Sample, dict[str, Any] | None, list[str]]]:
    """(shard, sample, parsed JSON, problems) for every sample of every shard, in order."""
    for path in paths:
        for sample in iter_samples(path, limits=limits):
            doc, problems = check_sample(sample)
            yield str(path), sample, doc, problems


def summarise(
    path: Path,
    *,
    list_samples: int = 0,
    key: str | None = None,
    keep: int = 0,
    limits: Limits | None = None,
) -> tuple[Summary, list[tuple[Sample, dict[str, Any]]]]:
    """One pass over a shard or dataset; also returns the first ``keep`` valid samples (for rendering)."""
    paths = shard_paths(path)
    stats, rows, shown = _Stats(), list[SampleRow](), None
    kept: list[tuple[Sample, dict[str, Any]]] = []
    for shard, sample, doc, problems in iter_checked(paths, limits):
        stats.add(sample, doc, problems, shard)
        if len(rows) < list_samples:
            rows.append(_row(sample, doc, problems, shard))
        if key is not None and shown is None and sample.key == key:
            shown = _row(sample, doc, problems, shard)
        if len(kept) < keep and doc is not None and not problems:
            kept.append((sample, doc))
    if key is not None and shown is None:
        raise KeyError(f"expected a sample with key {key!r}, found none in {len(paths)} shard(s)")
    size = sum(p.stat().st_size for p in paths)
    return Summary(tuple(map(str, paths)), size, stats, tuple(rows), shown), kept


def _heatmaps(sample: Sample, doc: dict[str, Any]) -> np.ndarray | None:
    data, hm = sample.get("hm.png"), doc.get("heatmap")
    if data is None or hm is None:
        return None
    return targets.decode_heatmaps_png(data, len(doc["landmarks"]), tuple(hm["size"]))


def render_tile(
    sample: Sample, doc: dict[str, Any], *, labels: bool = False, heatmaps: bool = False
) -> np.ndarray:
    """One sample's image with its landmarks (and optionally its stored heatmaps) drawn."""
    data = sample.get(doc["image"]["format"])
    if data is None:
        raise ValueError(f"{sample.key}: expected a {doc['image']['format']} member, found none")
    pixels = imageio.decode(data).pixels
    maps = _heatmaps(sample, doc) if heatmaps else None
    if maps is not None:
        pixels = draw.overlay_heatmaps(pixels, maps)
    factor = max(1, -(-MIN_TILE // min(pixels.shape[:2])))
    pixels, points = draw.upscale(pixels, np.asarray(doc["landmarks"]), factor)
    scheme = get_scheme(doc["scheme"])
    return draw.draw_landmarks(pixels, points, doc["visible"], scheme, labels=labels)


def render_sheet(
    kept: list[tuple[Sample, dict[str, Any]]], *, labels: bool = False, heatmaps: bool = False
) -> np.ndarray:
    """A contact sheet of the given samples, captioned with their keys."""
    if not kept:
        raise ValueError("expected at least one valid sample to render, found none")
    tiles, captions = [], []
    for sample, doc in kept:
        try:
            tiles.append(render_tile(sample, doc, labels=labels, heatmaps=heatmaps))
            captions.append(sample.key)
        except imageio.ImageError as e:
            log.warning("%s: cannot render: %s", sample.key, e)
            tiles.append(np.zeros((MIN_TILE, MIN_TILE, 3), np.uint8))
            captions.append(f"{sample.key} (undecodable)")
    return draw.contact_sheet(tiles, captions=captions)
