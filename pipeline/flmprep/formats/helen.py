"""HELEN 194 points: ``annotation/*.txt`` (image name, then 194 ``x , y`` lines).

Splits come from ``trainnames.txt`` / ``testnames.txt``. Images may lie anywhere below the root
(the official zips unpack into several folders): they are indexed once by file stem.
Annotation files are read in natural order of their names (1.txt, 2.txt, …, 10.txt).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from flmprep.errors import AnnotationError
from flmprep.formats._common import ReadContext, landmark_array, parse_floats, record_key, require_file
from flmprep.formats._text import iter_content_lines, iter_lines
from flmprep.records import FaceRecord, ReadReport

NUM_POINTS = 194
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
_DIGITS = re.compile(r"(\d+)")


def read(root: Path, dataset: str, report: ReadReport, on_error: str) -> Iterator[FaceRecord]:
    """Stream one record per annotation file, in natural file-name order."""
    ctx = ReadContext(root, dataset, "helen194", report, "skip" if on_error == "skip" else "fail")
    splits = read_split_names(root)
    anno = root / "annotation"
    if not anno.is_dir():
        raise AnnotationError(
            str(anno), "dataset root", "a folder of annotation/*.txt files", "no such folder"
        )
    files = sorted(anno.glob("*.txt"), key=lambda p: natural_key(p.name))
    images = index_images(root)
    for path in files:
        try:
            name = _image_name(path)
        except AnnotationError as err:
            ctx.fail(err)
            continue
        try:
            yield _record(ctx, path, name, splits.get(name, ""), images)
        except AnnotationError as err:
            err.key = err.key or record_key(dataset, name, 0)
            ctx.fail(err, splits.get(name, ""))


def natural_key(name: str) -> list[tuple[int, int | str]]:
    """Sort key that orders embedded numbers by value: 2.txt before 10.txt."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(name) if part]


def read_split_names(root: Path) -> dict[str, str]:
    """Image name (no extension) -> split, from trainnames.txt and testnames.txt."""
    splits: dict[str, str] = {}
    for split in ("train", "test"):
        path = require_file(root / f"{split}names.txt")
        for number, text in iter_content_lines(path):
            name = _strip_ext(text.strip())
            if name in splits:
                raise AnnotationError(
                    str(path),
                    number,
                    "each image name in one split file once",
                    f"{name!r} already listed for {splits[name]}",
                )
            splits[name] = split
    return splits


def index_images(root: Path) -> dict[str, list[str]]:
    """Image stem -> relative paths of every image file below ``root`` (sorted walk)."""
    index: dict[str, list[str]] = {}
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        rel_dir = os.path.relpath(folder, root)
        for name in sorted(files):
            stem, ext = os.path.splitext(name)
            if ext.lower() in IMAGE_EXTENSIONS:
                rel = name if rel_dir == "." else f"{Path(rel_dir).as_posix()}/{name}"
                index.setdefault(stem, []).append(rel)
    return index


def _strip_ext(name: str) -> str:
    stem, ext = os.path.splitext(name)
    return stem if ext.lower() in IMAGE_EXTENSIONS else name


def _image_name(path: Path) -> str:
    """Line 1 of an annotation file: the image name (an extension, if any, is dropped)."""
    _, first = next(iter_lines(path), (1, ""))
    name = _strip_ext(first.strip())
    if not name:
        raise AnnotationError(str(path), 1, "the image name on line 1", repr(first))
    return name


def _record(ctx: ReadContext, path: Path, name: str, split: str, images: dict[str, list[str]]) -> FaceRecord:
    """The 194 points after line 1, then the split and the image located by name."""
    coords: list[float] = []
    for number, text in iter_content_lines(path, start=2):
        fields = [f.strip() for f in text.split(",")]
        if len(fields) != 2:
            raise AnnotationError(str(path), number, "a point 'x , y'", repr(text))
        if len(coords) == 2 * NUM_POINTS:
            raise AnnotationError(str(path), number, f"{NUM_POINTS} points", f"more, from {text!r}")
        coords += parse_floats(fields, path, number, "a coordinate")
    if len(coords) != 2 * NUM_POINTS:
        raise AnnotationError(str(path), "end of file", f"{NUM_POINTS} points", str(len(coords) // 2))
    landmarks = landmark_array(coords, path, 2)
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
