"""dlib imglab XML (the 300W ``labels_ibug_300W_{train,test}.xml`` and dlib's example files).

Parsed incrementally with lxml; a document with a DOCTYPE is refused before parsing (no DTD,
no entities, no network). One record per non-ignored ``<box>``; parts are ordered by their
numeric name and must be exactly 00…67.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from flmprep.errors import AnnotationError
from flmprep.formats._common import ReadContext, landmark_array, parse_ints
from flmprep.records import FaceRecord, ReadReport

# annotation file name -> split, in reading order
XML_FILES = (
    ("labels_ibug_300W_train.xml", "train"),
    ("labels_ibug_300W_test.xml", "test"),
    ("training_with_face_landmarks.xml", "train"),
    ("testing_with_face_landmarks.xml", "test"),
)
NUM_PARTS = 68
_PROLOG_LIMIT = 1 << 16


def read(root: Path, dataset: str, report: ReadReport, on_error: str) -> Iterator[FaceRecord]:
    """Stream the faces of every known XML file under ``root``, train files first."""
    ctx = ReadContext(root, dataset, "ibug68", report, "skip" if on_error == "skip" else "fail")
    present = [(root / name, split) for name, split in XML_FILES if (root / name).is_file()]
    if not present:
        names = ", ".join(name for name, _ in XML_FILES)
        raise AnnotationError(str(root), "dataset root", f"one of {names}", "none of them")
    for path, split in present:
        yield from read_xml(ctx, path, split)


def read_xml(ctx: ReadContext, path: Path, split: str) -> Iterator[FaceRecord]:
    """The faces of one XML file, in document order."""
    check_prolog(path)
    events = etree.iterparse(
        str(path),
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
            _check_nesting(path, elem)
            yield from _image(ctx, path, split, elem)
            _release(elem)
        _check_root(path, events.root)
    except etree.XMLSyntaxError as exc:
        raise AnnotationError(str(path), exc.lineno or "document", "well-formed XML", exc.msg) from None


def check_prolog(path: Path) -> None:
    """Refuse a DOCTYPE (entity bombs, external DTDs) by reading the prolog before lxml sees it."""
    with path.open("rb") as f:
        head = f.read(_PROLOG_LIMIT)
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
                repr(head[pos : pos + 20].decode("latin-1")) if head else "an empty file",
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


def _image(ctx: ReadContext, path: Path, split: str, elem: etree._Element) -> Iterator[FaceRecord]:
    """The records of one <image>: one per non-ignored <box>, face index in box order."""
    where = f"line {elem.sourceline} <image>"
    try:
        file = elem.get("file")
        if file is None:
            raise AnnotationError(str(path), where, "a 'file' attribute", "none")
        image = ctx.guard.check(file, path, f"line {elem.sourceline} <image file='{file}'>")
        size = _size(path, elem)
    except AnnotationError as err:
        ctx.fail(err, split)
        return
    face = 0
    for box in elem.iterchildren("box"):
        if box.get("ignore") == "1":
            ctx.report.counters["ignored_boxes"] += 1
            continue
        try:
            yield _box(ctx, path, split, image, file, face, size, box)
        except AnnotationError as err:
            ctx.fail(err, split)
        face += 1


def _size(path: Path, elem: etree._Element) -> tuple[int | None, int | None]:
    values: list[int | None] = []
    for name in ("width", "height"):
        text = elem.get(name)
        where = f"line {elem.sourceline} <image {name}='{text}'>"
        value = None if text is None else parse_ints([text], path, where, f"image {name}")[0]
        if value is not None and value < 1:
            raise AnnotationError(str(path), where, f"an image {name} >= 1", str(value))
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
    landmarks = landmark_array(_parts(path, where, box), path, where)
    return ctx.make(
        name=file,
        split=split,
        image=image,
        face=face,
        landmarks=landmarks,
        origin=(path, f"line {box.sourceline}"),
        bbox=(float(left), float(top), float(left + width - 1), float(top + height - 1)),
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
        if not name.isdigit() or not 0 <= int(name) < NUM_PARTS:
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
