"""iBUG ``.pts`` folders (300-W originals): 1-based coordinates, converted to 0-based.

Every ``*.pts`` below the root is read in sorted path order; its image is the file beside it
with the same stem and extension .jpg, .png or .ppm (first found in that order, any case).
Split: ``test`` when a folder component of the path contains "test", else ``train``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flmprep.errors import AnnotationError
from flmprep.formats._common import ReadContext, landmark_array, parse_floats, record_key
from flmprep.records import FaceRecord

NUM_POINTS = 68
IMAGE_EXTENSIONS = (".jpg", ".png", ".ppm")
#: A 68-point file is about 2 kB; the whole file is read at once, so it is bounded.
MAX_PTS_BYTES = 1 << 20
_VERSION = re.compile(r"version\s*:\s*1(\.0*)?")
_NPOINTS = re.compile(r"n_?points\s*:\s*([0-9]{1,9})")


@dataclass(frozen=True)
class PtsFile:
    """A .pts file found under the root, with its image (or None) and split."""

    rel: str
    image: str | None
    split: str


def read(ctx: ReadContext) -> Iterator[FaceRecord]:
    """Stream one record per .pts file under the root."""
    found = False
    for item in find_pts(ctx):
        found = True
        path = ctx.root / item.rel
        try:
            yield _record(ctx, path, item)
        except AnnotationError as err:
            err.key = err.key or record_key(ctx.dataset, item.image or item.rel, 0)
            ctx.fail(err, item.split)
    if not found:
        raise AnnotationError(str(ctx.root), "dataset root", "at least one .pts file below it", "none")


def find_pts(ctx: ReadContext) -> Iterator[PtsFile]:
    """Every .pts below the root in sorted order, paired with the image beside it (symlinked
    folders are not entered; a folder named like a .pts file is listed, to be refused on open)."""
    for folder in ctx.walk(ctx.root):
        split = "test" if any("test" in p.lower() for p in folder.parts) else "train"
        by_name = {f.lower(): f for f in folder.files}
        for name in sorted(folder.files + folder.dirs):
            stem, ext = os.path.splitext(name)
            if ext.lower() != ".pts":
                continue
            image = next(
                (by_name[stem.lower() + e] for e in IMAGE_EXTENSIONS if stem.lower() + e in by_name), None
            )
            prefix = folder.rel
            yield PtsFile(
                rel=f"{prefix}/{name}" if prefix else name,
                image=None if image is None else (f"{prefix}/{image}" if prefix else image),
                split=split,
            )


def parse_pts(ctx: ReadContext, path: Path) -> np.ndarray:
    """The points of one .pts file as float32 [N, 2], 0-based (file values minus 1)."""
    lines = [(n, t.strip()) for n, t in ctx.all_lines(path, MAX_PTS_BYTES)]
    content = [(n, t) for n, t in lines if t]
    _expect(path, content, 0, _VERSION, "'version: 1'")
    count = int(_expect(path, content, 1, _NPOINTS, "'n_points: N'").group(1))
    _expect(path, content, 2, re.compile(r"\{"), "'{'")
    if count != NUM_POINTS:
        raise AnnotationError(str(path), content[1][0], f"n_points {NUM_POINTS} (ibug68)", str(count))
    coords: list[float] = []
    for number, text in content[3 : 3 + count]:
        if text == "}":
            raise AnnotationError(str(path), number, f"{count} points before '}}'", f"{len(coords) // 2}")
        tokens = text.split()
        if len(tokens) != 2:
            raise AnnotationError(str(path), number, "2 numbers 'x y'", f"{len(tokens)} in {text!r}")
        coords += parse_floats(tokens, path, number, "a coordinate")
    if len(coords) < 2 * count:
        raise AnnotationError(
            str(path), content[-1][0], f"{count} points", f"{len(coords) // 2}, then the end"
        )
    _expect(path, content, 3 + count, re.compile(r"\}"), "'}' after the points")
    if len(content) > 4 + count:
        raise AnnotationError(
            str(path), content[4 + count][0], "nothing after '}'", repr(content[4 + count][1])
        )
    point_lines = [n for n, _ in content[3 : 3 + count]]
    return landmark_array([c - 1.0 for c in coords], path, content[2][0], point_lines)


def _expect(
    path: Path, content: list[tuple[int, str]], index: int, pattern: re.Pattern[str], what: str
) -> re.Match[str]:
    if index >= len(content):
        last = content[-1][0] if content else 1
        raise AnnotationError(str(path), last, what, "the end of the file")
    number, text = content[index]
    match = pattern.fullmatch(text)
    if match is None:
        raise AnnotationError(str(path), number, what, repr(text))
    return match


def _record(ctx: ReadContext, path: Path, item: PtsFile) -> FaceRecord:
    if item.image is None:
        stem = os.path.splitext(item.rel)[0]
        raise AnnotationError(
            str(path), "file", f"an image {stem}.jpg/.png/.ppm beside it", "none", reason="missing_image"
        )
    landmarks = parse_pts(ctx, path)
    image = ctx.guard.check(item.image, path, "file")
    return ctx.make(name=image, split=item.split, image=image, face=0, landmarks=landmarks, origin=(path, 1))
