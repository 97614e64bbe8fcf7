"""dlib imglab XML (the 300W ``labels_ibug_300W_{train,test}.xml`` and dlib's example files).

Parsed incrementally with lxml; a document with a DOCTYPE is refused before parsing (no DTD,
no entities, no network). One record per non-ignored ``<box>``; parts are ordered by their
numeric name and must be exactly 00…67. The bytes of one ``<image>`` are bounded
(``MAX_IMAGE_BYTES``), so a hostile file cannot grow one element without limit. With
``protocol="300w"`` the splits are 300W's standard sets (``flmprep.formats.split300w``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from flmprep.errors import AnnotationError
from flmprep.formats import split300w
from flmprep.formats._common import ReadContext, box_values, landmark_array, parse_ints, record_key
from flmprep.records import FaceRecord

# annotation file name -> split, in reading order
XML_FILES = (
    ("labels_ibug_300W_train.xml", "train"),
    ("labels_ibug_300W_test.xml", "test"),
    ("training_with_face_landmarks.xml", "train"),
    ("testing_with_face_landmarks.xml", "test"),
)
NUM_PARTS = 68
MAX_IMAGE_BYTES = 16 << 20
MAX_SIDE = (1 << 31) - 1
_PROLOG_LIMIT = 1 << 16
_PART_NAME = re.compile(r"[0-9]{1,3}")


def read(ctx: ReadContext) -> Iterator[FaceRecord]:
    """Stream the faces of every known XML file under the root, train files first."""
    root = ctx.root
    present = [(root / name, split) for name, split in XML_FILES if ctx.guard.exists(root / name)]
    if not present:
        names = ", ".join(name for name, _ in XML_FILES)
        raise AnnotationError(str(root), "dataset root", f"one of {names}", "none of them")
    if ctx.protocol == split300w.PROTOCOL:
        present = _standard_files(ctx, present)
        ctx.report.counters.setdefault("dropped_mirrors", 0)
    for path, split in present:
        yield from read_xml(ctx, path, split)


def _standard_files(ctx: ReadContext, present: list[tuple[Path, str]]) -> list[tuple[Path, str]]:
    names = [path.name for path, _ in present]
    missing = [name for name in split300w.REQUIRED_FILES if name not in names]
    if missing:
        raise AnnotationError(
            str(ctx.root),
            "dataset root",
            f"both {' and '.join(split300w.REQUIRED_FILES)} (--protocol 300w re-splits the two)",
            f"no {', '.join(missing)}",
        )
    return [(p, s) for p, s in present if p.name in split300w.REQUIRED_FILES]


class _BoundedSource:
    """The XML file as lxml reads it, refusing more than ``MAX_IMAGE_BYTES`` since the last
    completed ``<image>`` (lxml reads in chunks, so the bound holds to within one chunk)."""

    def __init__(self, path: Path, f: BinaryIO) -> None:
        self.path, self.f = path, f
        self.total = self.mark = 0

    def read(self, size: int = -1) -> bytes:
        data = self.f.read(size)
        self.total += len(data)
        if self.total - self.mark > MAX_IMAGE_BYTES:
            raise AnnotationError(
                str(self.path),
                f"byte {self.mark}",
                f"an <image> element of at most {MAX_IMAGE_BYTES} bytes",
                f"more than {self.total - self.mark} bytes without a complete one",
            )
        return data


@dataclass
class _FileTally:
    """How many boxes one XML file held (records, rejects, ignored or dropped): zero is an error."""

    entries: int = 0


def read_xml(ctx: ReadContext, path: Path, split: str) -> Iterator[FaceRecord]:
    """The faces of one XML file, in document order (``split``: the file's own split)."""
    tally = _FileTally()
    with ctx.open(path) as f:
        check_prolog(path, f.read(_PROLOG_LIMIT))
        f.seek(0)
        source = _BoundedSource(path, f)
        etree.clear_error_log()  # the log is per thread and keeps earlier documents' errors
        events = etree.iterparse(
            source,
            events=("end",),
            tag="image",
            load_dtd=False,
            no_network=True,
            resolve_entities=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        try:
            for _, elem in events:
                source.mark = source.total
                _check_nesting(path, elem)
                yield from _image(ctx, path, split, elem, tally)
                _release(elem)
            _check_root(path, events.root)
        except etree.XMLSyntaxError as exc:
            raise syntax_error(path, exc) from None
    if not tally.entries:
        ctx.no_records(path, "" if ctx.protocol == split300w.PROTOCOL else split, "at least one <box>")


def syntax_error(path: Path, exc: etree.XMLSyntaxError) -> AnnotationError:
    """The parser's first error in this document (its line and message), not the follow-up
    error it ends with (an undefined entity ends as "no element found" on line 0)."""
    entries: Iterable[Any] = exc.error_log  # type: ignore[assignment]  # the stubs omit __iter__
    first = next((e for e in entries if e.level >= etree.ErrorLevels.ERROR), None)
    line = first.line if first is not None and first.line > 0 else exc.lineno
    message = (first.message if first is not None else exc.msg).strip()
    return AnnotationError(str(path), line if line and line > 0 else "document", "well-formed XML", message)


def check_prolog(path: Path, head: bytes) -> None:
    """Refuse a DOCTYPE (entity bombs, external DTDs): ``head`` is the file's first bytes."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        expected = "XML in an ASCII-compatible encoding (dlib writes ISO-8859-1)"
        raise AnnotationError(str(path), 1, expected, "a UTF-16 byte-order mark")
    pos = 0
    while True:
        while pos < len(head) and head[pos : pos + 1].isspace():
            pos += 1
        if head.startswith(b"\xef\xbb\xbf", pos):
            pos += 3
        elif head.startswith(b"<?", pos):
            pos = _skip_to(path, head, pos, b"?>")
        elif head.startswith(b"<!--", pos):
            pos = _skip_to(path, head, pos, b"-->")
        elif head.startswith(b"<!", pos):
            line = head.count(b"\n", 0, pos) + 1
            raise AnnotationError(
                str(path),
                line,
                "no DOCTYPE or DTD (dlib XML has none)",
                repr(head[pos : pos + 20].decode("latin-1")),
            )
        elif head.startswith(b"<", pos):
            return
        else:
            raise AnnotationError(
                str(path),
                head.count(b"\n", 0, pos) + 1,
                "an XML document",
                repr(head[pos : pos + 20].decode("latin-1")) if pos < len(head) else "no root element",
            )


def _skip_to(path: Path, head: bytes, pos: int, end: bytes) -> int:
    found = head.find(end, pos)
    if found < 0:
        raise AnnotationError(
            str(path),
            head.count(b"\n", 0, pos) + 1,
            f"the root element within the first {_PROLOG_LIMIT} bytes",
            "a longer prolog",
        )
    return found + len(end)


def _check_nesting(path: Path, elem: etree._Element) -> None:
    """Each <image> sits in <images>, which sits in the root <dataset>."""
    parent = elem.getparent()
    grand = None if parent is None else parent.getparent()
    if parent is None or grand is None or parent.tag != "images" or grand.tag != "dataset":
        chain = "/".join(str(e.tag) for e in reversed([elem, *elem.iterancestors()]))
        raise AnnotationError(str(path), _line(elem), "<image> at dataset/images/image", f"{chain!r}")


def _check_root(path: Path, root: etree._Element | None) -> None:
    if root is not None and root.tag != "dataset":
        raise AnnotationError(str(path), _line(root), "root element <dataset>", f"<{root.tag}>")


def _line(elem: etree._Element) -> int | str:
    return elem.sourceline if isinstance(elem.sourceline, int) else "document"


def _release(elem: etree._Element) -> None:
    """Free a processed <image> and its earlier siblings (constant memory on big files)."""
    elem.clear()
    parent = elem.getparent()
    while parent is not None and elem.getprevious() is not None:
        del parent[0]


def _image(
    ctx: ReadContext, path: Path, file_split: str, elem: etree._Element, tally: _FileTally
) -> Iterator[FaceRecord]:
    """The records of one <image>: one per non-ignored <box>, face index in box order."""
    where = f"line {elem.sourceline} <image>"
    boxes = list(elem.iterchildren("box"))
    try:
        file = elem.get("file")
        if file is None:
            raise AnnotationError(str(path), where, "a 'file' attribute", "none")
        image = ctx.guard.check(file, path, f"line {elem.sourceline} <image file='{file}'>")
        size = _size(path, elem)
    except AnnotationError as err:
        _image_rejects(ctx, err, elem.get("file"), boxes, file_split, tally)
        return
    split = _split(ctx, file_split, image, boxes, tally)
    face = 0
    for box in boxes:
        tally.entries += 1
        if box.get("ignore") == "1":
            ctx.report.counters["ignored_boxes"] += 1
            continue
        try:
            if split is None:
                raise AnnotationError(
                    str(path),
                    f"line {elem.sourceline} <image file='{file}'>",
                    f"an image in one of 300W's folders {split300w.FOLDERS} (--protocol 300w)",
                    repr(image),
                    reason="split_missing",
                )
            if split:
                yield _box(ctx, path, split, image, file, face, size, box)
        except AnnotationError as err:
            err.key = err.key or record_key(ctx.dataset, file, face)
            ctx.fail(err, split or "")
        face += 1


def _image_rejects(
    ctx: ReadContext,
    err: AnnotationError,
    file: str | None,
    boxes: list[etree._Element],
    file_split: str,
    tally: _FileTally,
) -> None:
    """An <image> whose own attributes are bad: one reject for each of its faces (at least one)."""
    split = "" if ctx.protocol == split300w.PROTOCOL else file_split
    faces = max(sum(1 for b in boxes if b.get("ignore") != "1"), 1)
    tally.entries += faces
    for face in range(faces):
        key = record_key(ctx.dataset, file, face) if file else ""
        ctx.fail(AnnotationError(err.path, err.where, err.expected, err.found, err.reason, key), split)


def _split(
    ctx: ReadContext, file_split: str, image: str, boxes: list[etree._Element], tally: _FileTally
) -> str | None:
    """The split of an image: its file's (protocol dlib) or its standard set (protocol 300w);
    None outside the standard folders, "" for a mirror dropped from a test set (counted)."""
    if ctx.protocol != split300w.PROTOCOL:
        return file_split
    split = split300w.standard_split(image)
    if split is not None and split != "train" and split300w.is_mirror(image):
        ctx.report.counters["dropped_mirrors"] += sum(1 for b in boxes if b.get("ignore") != "1")
        return ""
    return split


def _size(path: Path, elem: etree._Element) -> tuple[int | None, int | None]:
    values: list[int | None] = []
    for name in ("width", "height"):
        text = elem.get(name)
        where = f"line {elem.sourceline} <image {name}='{text}'>"
        value = None if text is None else parse_ints([text], path, where, f"image {name}")[0]
        if value is not None and not 1 <= value <= MAX_SIDE:
            raise AnnotationError(str(path), where, f"an image {name} from 1 to {MAX_SIDE}", str(value))
        values.append(value)
    return values[0], values[1]


def _box(
    ctx: ReadContext,
    path: Path,
    split: str,
    image: str,
    file: str,
    face: int,
    size: tuple[int | None, int | None],
    box: etree._Element,
) -> FaceRecord:
    """One face: box geometry plus its 68 parts ordered by name."""
    where = f"line {box.sourceline} <box> {face} of image '{file}'"
    names = ("top", "left", "width", "height")
    missing = [n for n in names if box.get(n) is None]
    if missing:
        raise AnnotationError(str(path), where, "attributes top, left, width, height", f"no {missing[0]!r}")
    top, left, width, height = parse_ints([str(box.get(n)) for n in names], path, where, "box attribute")
    if width < 1 or height < 1:
        raise AnnotationError(str(path), where, "a box width and height >= 1", f"{width} x {height}")
    bbox = box_values((left, top, left + width - 1, top + height - 1), path, where)
    landmarks = landmark_array(_parts(path, where, box), path, where)
    return ctx.make(
        name=file,
        split=split,
        image=image,
        face=face,
        landmarks=landmarks,
        origin=(path, f"line {box.sourceline}"),
        bbox=bbox,
        size=size,
    )


_NAMES = [f"{i:02d}" for i in range(NUM_PARTS)]


def _parts(path: Path, where: str, box: etree._Element) -> list[int]:
    """x0 y0 … x67 y67 from the <part> children, ordered by name (fast path: already in order)."""
    parts = list(box.iterchildren("part"))
    if [p.get("name") for p in parts] == _NAMES:
        coords = [p.get(axis) for p in parts for axis in ("x", "y")]
        if None not in coords:
            try:
                return parse_ints([str(c) for c in coords], path, where, "part coordinate")
            except AnnotationError:
                pass  # the slow path names the part
    return _parts_checked(path, where, parts)


def _parts_checked(path: Path, where: str, parts: list[etree._Element]) -> list[int]:
    """Part by part: missing, duplicate or extra names and bad coordinates are errors."""
    points: dict[int, tuple[int, int]] = {}
    for part in parts:
        name = part.get("name", "")
        pwhere = f"line {part.sourceline} <part name='{name}'> in {where}"
        if not _PART_NAME.fullmatch(name) or not 0 <= int(name) < NUM_PARTS:
            raise AnnotationError(str(path), pwhere, "a part name 00…67", repr(name))
        if int(name) in points:
            raise AnnotationError(str(path), pwhere, "each part name once", f"part {name!r} again")
        if part.get("x") is None or part.get("y") is None:
            raise AnnotationError(str(path), pwhere, "attributes x and y", "one missing")
        x, y = parse_ints([str(part.get("x")), str(part.get("y"))], path, pwhere, "part coordinate")
        points[int(name)] = (x, y)
    if len(points) != NUM_PARTS:
        absent = [f"{i:02d}" for i in range(NUM_PARTS) if i not in points]
        raise AnnotationError(
            str(path),
            where,
            f"{NUM_PARTS} parts 00…67",
            f"{len(points)}, missing {', '.join(absent[:5])}{' …' if len(absent) > 5 else ''}",
        )
    return [v for i in range(NUM_PARTS) for v in points[i]]
