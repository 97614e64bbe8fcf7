"""HELEN 194 points: ``annotation/*.txt`` (image name, then 194 ``x , y`` lines).

Splits come from ``trainnames.txt`` / ``testnames.txt``. Images may lie anywhere below the root
(the official zips unpack into several folders): they are indexed once by file stem.
Annotation files are read in natural order of their names (1.txt, 2.txt, …, 10.txt).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

from flmprep.errors import AnnotationError
from flmprep.formats._common import ReadContext, landmark_array, parse_floats, record_key
from flmprep.records import FaceRecord

NUM_POINTS = 194
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
#: An annotation file is about 4 kB (a name and 194 short lines).
MAX_ANNOTATION_BYTES = 1 << 20
_DIGITS = re.compile(r"([0-9]+)")


def read(ctx: ReadContext) -> Iterator[FaceRecord]:
    """Stream one record per annotation file, in natural file-name order."""
    root = ctx.root
    splits = read_split_names(ctx)
    anno = ctx.guard.folder(root / "annotation", "a folder of annotation/*.txt files")
    files = sorted(anno.glob("*.txt"), key=lambda p: natural_key(p.name))
    if not files:
        raise AnnotationError(str(anno), "dataset root", "annotation/*.txt files", "none")
    images = index_images(ctx)
    for path in files:
        yield from _read_file(ctx, path, splits, images)


def _read_file(
    ctx: ReadContext, path: Path, splits: dict[str, str], images: dict[str, list[str]]
) -> Iterator[FaceRecord]:
    """The one record of an annotation file, or its reject (keyed by the image name once known)."""
    name = ""
    try:
        with closing(ctx.all_lines(path, MAX_ANNOTATION_BYTES)) as lines:
            name = _image_name(path, next(lines, (1, ""))[1])
            record = _record(ctx, path, name, splits.get(name, ""), images, lines)
        yield record
    except AnnotationError as err:
        if name:
            err.key = err.key or record_key(ctx.dataset, name, 0)
        ctx.fail(err, splits.get(name, ""))


def natural_key(name: str) -> list[tuple[int, int, str]]:
    """Sort key that orders embedded numbers by value: 2.txt before 10.txt (any length)."""
    key = []
    for part in _DIGITS.split(name):
        if part.isascii() and part.isdigit():
            digits = part.lstrip("0") or "0"
            key.append((0, len(digits), digits))
        elif part:
            key.append((1, 0, part))
    return key


def read_split_names(ctx: ReadContext) -> dict[str, str]:
    """Image name (no extension) -> split, from trainnames.txt and testnames.txt; an empty list
    is an error (every record would lose its split)."""
    splits: dict[str, str] = {}
    for split in ("train", "test"):
        path = ctx.root / f"{split}names.txt"
        listed = 0
        for number, text in ctx.lines(path):
            listed += 1
            name = _strip_ext(text.strip())
            if name in splits:
                raise AnnotationError(
                    str(path),
                    number,
                    "each image name in one split file once",
                    f"{name!r} already listed for {splits[name]}",
                )
            splits[name] = split
        if not listed:
            raise AnnotationError(str(path), "file", "at least one image name", "none (an empty list)")
    return splits


def index_images(ctx: ReadContext) -> dict[str, list[str]]:
    """Image stem -> relative paths of every image file below the root (sorted walk, symlinked
    folders not entered)."""
    index: dict[str, list[str]] = {}
    for folder in ctx.walk(ctx.root):
        for name in folder.files:
            stem, ext = os.path.splitext(name)
            if ext.lower() in IMAGE_EXTENSIONS:
                index.setdefault(stem, []).append(f"{folder.rel}/{name}" if folder.rel else name)
    return index


def _strip_ext(name: str) -> str:
    stem, ext = os.path.splitext(name)
    return stem if ext.lower() in IMAGE_EXTENSIONS else name


def _image_name(path: Path, first: str) -> str:
    """Line 1 of an annotation file: the image name (an extension, if any, is dropped)."""
    name = _strip_ext(first.strip())
    if not name:
        raise AnnotationError(str(path), 1, "the image name on line 1", repr(first))
    return name


def _record(
    ctx: ReadContext,
    path: Path,
    name: str,
    split: str,
    images: dict[str, list[str]],
    lines: Iterator[tuple[int, str]],
) -> FaceRecord:
    """The 194 points after line 1, then the split and the image located by name."""
    coords: list[float] = []
    numbers: list[int] = []
    blank = 0
    for number, text in lines:
        if not text.strip():
            blank = blank or number
            continue
        if blank:
            raise AnnotationError(str(path), blank, "a point (blank lines only at the end)", "an empty line")
        fields = [f.strip() for f in text.split(",")]
        if len(fields) != 2:
            raise AnnotationError(str(path), number, "a point 'x , y'", repr(text))
        if len(coords) == 2 * NUM_POINTS:
            raise AnnotationError(str(path), number, f"{NUM_POINTS} points", f"more, from {text!r}")
        coords += parse_floats(fields, path, number, "a coordinate")
        numbers.append(number)
    if len(coords) != 2 * NUM_POINTS:
        raise AnnotationError(str(path), "end of file", f"{NUM_POINTS} points", str(len(coords) // 2))
    landmarks = landmark_array(coords, path, 2, numbers)
    if not split:
        raise AnnotationError(
            str(path), 1, f"{name!r} in trainnames.txt or testnames.txt", "neither", reason="split_missing"
        )
    image = ctx.guard.check(_find_image(path, name, images), path, 1)
    return ctx.make(name=name, split=split, image=image, face=0, landmarks=landmarks, origin=(path, 1))


def _find_image(path: Path, name: str, images: dict[str, list[str]]) -> str:
    found = images.get(name, [])
    if len(found) != 1:
        raise AnnotationError(
            str(path),
            1,
            f"exactly one image named {name}.jpg below the dataset root",
            ", ".join(found) if found else "none",
            reason="missing_image" if not found else "bad_annotation",
        )
    return found[0]
