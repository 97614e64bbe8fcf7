"""A contact sheet of augmented views with their landmarks drawn, to look at a recipe before
building millions of samples: the same reader, planning, decoding and rendering the build uses."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flmprep import draw, imageio
from flmprep.augment import (
    AugmentError,
    Recipe,
    View,
    ViewPlan,
    apply_plan,
    check_scheme,
    decode_reduce,
    plan_record,
    plan_view,
)
from flmprep.augment.base import Face
from flmprep.formats import read_dataset, scheme_of
from flmprep.records import FaceRecord
from flmprep.schemes import get_scheme

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreviewResult:
    """The sheet (RGB uint8), how many views and records it shows, and the records skipped
    (as "key: reason: message")."""

    sheet: np.ndarray
    views: int
    records: int
    skipped: list[str] = field(default_factory=list)


def _records(dataset: str, root: Path, split: str, count: int) -> Iterator[FaceRecord]:
    """The first ``count`` records of ``split`` (reading stops as soon as they are found)."""
    return itertools.islice((r for r in read_dataset(dataset, root) if r.split == split), count)


def _caption(record: FaceRecord, view: View) -> str:
    a = view.augment
    flip = " F" if a["flip"] else ""
    return f"{record.key[-12:]} v{a['view']} {a['angle']:+.0f}° ×{a['scale']:.2f}{flip}"


def preview(
    dataset: str,
    root: str | Path,
    recipe: Recipe,
    *,
    n: int = 16,
    seed: int = 0,
    split: str = "train",
    labels: bool = False,
) -> PreviewResult:
    """Render ``n`` views of the first ``n`` records of ``split`` (view 0 of each, then view 1,
    ... when there are fewer records) and tile them with their landmarks drawn: image-left and
    image-right points in two colours, hollow when outside the view."""
    if n < 1:
        raise ValueError(f"n: expected at least 1 view, found {n}")
    scheme = get_scheme(scheme_of(dataset))
    check_scheme(recipe, scheme.name)
    sources = _Sources(Path(root), recipe, seed, split)
    records = list(_records(dataset, Path(root), split, n))
    if not records:
        have = ", ".join(sorted({r.split for r in read_dataset(dataset, Path(root))})) or "none"
        raise ValueError(f"{dataset} at {root}: expected split {split!r}, found splits: {have}")
    tiles: list[np.ndarray] = []
    captions: list[str] = []
    shown: set[str] = set()
    # on the train split every view index is a new random view; elsewhere there is one
    for v in range(n if split == "train" else 1):
        for record in records:
            view = sources.render(record, v) if len(tiles) < n else None
            if view is not None:
                tiles.append(
                    draw.draw_landmarks(view.pixels, view.landmarks, view.visible, scheme, labels=labels)
                )
                captions.append(_caption(record, view))
                shown.add(record.key)
    if not tiles:
        raise ValueError(
            f"{dataset} at {root}: expected records of split {split!r} to preview, found none usable"
        )
    return PreviewResult(
        draw.contact_sheet(tiles, captions=captions), len(tiles), len(shown), sources.skipped
    )


@dataclass(frozen=True, eq=False)
class _Source:
    """One record ready to render: its checked landmarks (``face``), its views as the build plans
    them, and its image decoded once at the factor those views allow."""

    face: Face
    plans: list[ViewPlan]
    decoded: imageio.Decoded


class _Sources:
    """Each record planned and decoded once, as the shard builder does, and the records that
    could not be shown."""

    def __init__(self, root: Path, recipe: Recipe, seed: int, split: str) -> None:
        self.root = root
        self.recipe = recipe
        self.seed = seed
        self.split = split
        self.sources: dict[str, _Source] = {}
        self.skipped: list[str] = []
        self._bad: set[str] = set()

    def _load(self, record: FaceRecord) -> _Source:
        """Probe the image, plan every view of the record, decode at ``decode_reduce``."""
        path = self.root / record.image
        info = imageio.probe(path)
        face, plans = plan_record(self.recipe, record, (info.width, info.height), build_seed=self.seed,
                                  split=self.split)
        channels = 4 if len(plans) > 1 else 3  # several views: RGBX, as the builder decodes them
        decoded = imageio.read_image(path, reduce=decode_reduce(self.recipe, plans), channels=channels)
        return _Source(face, plans, decoded)

    def render(self, record: FaceRecord, view: int) -> View | None:
        """The view, or None (logged and listed once) when the image or the crop fails. Views
        past the record's ``num_views`` (a preview may show more) are planned on demand."""
        if record.key in self._bad:
            return None
        try:
            if record.key not in self.sources:
                self.sources[record.key] = self._load(record)
            src = self.sources[record.key]
            plan = src.plans[view] if view < len(src.plans) else plan_view(
                self.recipe, src.face, view=view, build_seed=self.seed, split=self.split)
            return apply_plan(self.recipe, src.decoded.pixels, record, src.face.points, plan,
                              reduce=src.decoded.reduce)
        except (AugmentError, imageio.ImageError) as e:
            self._bad.add(record.key)
            self.skipped.append(f"{record.key}: {e.reason}: {e.message}")
            log.warning("preview: skipped %s: %s", record.key, e)
            return None


def write_preview(result: PreviewResult, out: str | Path) -> None:
    """Write the sheet as PNG (or JPEG when ``out`` ends in .jpg/.jpeg)."""
    fmt = "jpg" if str(out).lower().endswith((".jpg", ".jpeg")) else "png"
    Path(out).write_bytes(imageio.encode(result.sheet, fmt))
