"""WFLW: ``list_98pt_rect_attr_{train,test}.txt`` (207 tokens) and ``list_98pt_test*.txt`` (197).

The layout is detected per file from its first record's token count; every record of that file
must then have the same count. Splits: rect_attr train/test → train/test; a subset list
``list_98pt_test_<name>.txt`` → ``test_<name>``; ``list_98pt_test.txt`` → ``test`` only when the
rect_attr test list is absent (the two hold the same faces).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from flmprep.errors import AnnotationError
from flmprep.formats._common import (
    ReadContext,
    box_values,
    landmark_array,
    parse_floats,
    parse_ints,
    record_key,
)
from flmprep.formats._paths import PathGuard
from flmprep.records import FaceRecord

NUM_COORDS = 196
ATTRIBUTES = ("pose", "expression", "illumination", "make_up", "occlusion", "blur")
RECT_ATTR_TOKENS = NUM_COORDS + 4 + len(ATTRIBUTES) + 1
SUBSET_TOKENS = NUM_COORDS + 1
ANNOTATIONS = "WFLW_annotations"
IMAGES = "WFLW_images"


def annotation_files(root: Path, guard: PathGuard | None = None) -> list[tuple[Path, str]]:
    """(annotation file, split) in reading order: train, test, then the subset lists by name.

    Anything at a list's path counts (a folder or a symlink too): reading it then says what is
    wrong with it, rather than the split vanishing.
    """
    guard = guard or PathGuard(root)
    anno = root / ANNOTATIONS
    main = anno / "list_98pt_rect_attr_train_test"
    files = [(main / f"list_98pt_rect_attr_{s}.txt", s) for s in ("train", "test")]
    files = [(path, split) for path, split in files if guard.exists(path)]
    subset_dir = anno / "list_98pt_test"
    subsets = _listed(guard, subset_dir) or _listed(guard, anno)
    has_test = any(split == "test" for _, split in files)
    for path in subsets:
        suffix = path.stem[len("list_98pt_test") :]
        if suffix == "":
            if not has_test:
                files.append((path, "test"))
        elif suffix.startswith("_"):
            files.append((path, "test" + suffix))
    return files


def _listed(guard: PathGuard, folder: Path) -> list[Path]:
    """The subset lists ``list_98pt_test*.txt`` in ``folder`` (which must lie inside the root)."""
    if not folder.is_dir() and not folder.is_symlink():
        return []
    guard.folder(folder, "a folder of WFLW lists")
    return sorted(folder.glob("list_98pt_test*.txt"))


def read(ctx: ReadContext) -> Iterator[FaceRecord]:
    """Stream the faces of every WFLW list under the root."""
    root = ctx.root
    files = annotation_files(root, ctx.guard)
    if not files:
        raise AnnotationError(
            str(root / ANNOTATIONS),
            "dataset root",
            "list_98pt_rect_attr_train_test/list_98pt_rect_attr_{train,test}.txt or list_98pt_test*.txt",
            "no WFLW list",
        )
    for path, split in files:
        yield from read_list(ctx, path, split)


def read_list(ctx: ReadContext, path: Path, split: str) -> Iterator[FaceRecord]:
    """The faces of one list file, in file order; faces of one image are numbered in order."""
    faces: Counter[str] = Counter()
    width = 0
    prefix = "" if split in ("train", "test") else f"{split}/"
    for number, text in ctx.lines(path):
        tokens = text.split()
        if not width:
            width = len(tokens)
            if width not in (RECT_ATTR_TOKENS, SUBSET_TOKENS):
                raise AnnotationError(
                    str(path),
                    number,
                    f"{RECT_ATTR_TOKENS} or {SUBSET_TOKENS} fields (layout of the file)",
                    f"{width}",
                )
        name = tokens[-1].replace("\\", "/")
        face = faces[name]
        faces[name] += 1
        try:
            yield _record(ctx, path, number, tokens, width, split, face, prefix)
        except AnnotationError as err:
            err.key = err.key or record_key(ctx.dataset, prefix + name, face)
            ctx.fail(err, split)
    if not width:
        ctx.no_records(path, split)


def _record(
    ctx: ReadContext,
    path: Path,
    number: int,
    tokens: list[str],
    width: int,
    split: str,
    face: int,
    prefix: str,
) -> FaceRecord:
    if len(tokens) != width:
        raise AnnotationError(
            str(path), number, f"{width} fields like the file's first record", str(len(tokens))
        )
    coords = parse_floats(tokens[:NUM_COORDS], path, number, "a coordinate")
    landmarks = landmark_array(coords, path, number)
    bbox = None
    attributes: dict[str, int] = {}
    if width == RECT_ATTR_TOKENS:
        x0, y0, x1, y1 = parse_ints(tokens[NUM_COORDS : NUM_COORDS + 4], path, number, "rect value")
        if x1 < x0 or y1 < y0:
            raise AnnotationError(
                str(path), number, "a rect with x_min <= x_max and y_min <= y_max", f"{x0} {y0} {x1} {y1}"
            )
        bbox = box_values((x0, y0, x1, y1), path, number)
        flags = parse_ints(tokens[NUM_COORDS + 4 : -1], path, number, "attribute flag")
        bad = [f"{n}={v}" for n, v in zip(ATTRIBUTES, flags, strict=True) if v not in (0, 1)]
        if bad:
            raise AnnotationError(str(path), number, "attribute flags 0 or 1", ", ".join(bad))
        attributes = dict(zip(ATTRIBUTES, flags, strict=True))
    name = tokens[-1].replace("\\", "/")
    image = ctx.guard.check(name, path, number, base=IMAGES)
    return ctx.make(
        name=prefix + name,
        split=split,
        image=image,
        face=face,
        landmarks=landmarks,
        origin=(path, number),
        bbox=bbox,
        attributes=attributes,
    )
