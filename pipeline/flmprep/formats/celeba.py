"""CelebA readers: in the wild (landmarks + box + partition) and aligned (landmarks + partition).

The list files are streamed and zipped line by line. Line 1 is the record count, line 2 the
column names (the partition file has neither); ids must run 000001.jpg, 000002.jpg, … in every
file. File-level faults (count, header, id sequence, lengths) always raise; a malformed record
raises or, with ``on_error="skip"``, becomes a Reject.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

from flmprep.errors import AnnotationError
from flmprep.formats._common import ReadContext, box_values, landmark_array, parse_ints, record_key
from flmprep.records import FaceRecord

logger = logging.getLogger(__name__)

LANDMARK_NAMES = [
    f"{part}_{axis}" for part in ("lefteye", "righteye", "nose", "leftmouth", "rightmouth") for axis in "xy"
]
BBOX_NAMES = ["image_id", "x_1", "y_1", "width", "height"]
PARTITIONS = {"0": "train", "1": "val", "2": "test"}
OFFICIAL_COUNT = 202599


@dataclass(frozen=True)
class _Listing:
    """One list file opened for streaming: its declared record count, then its record lines."""

    path: Path
    count: int | None
    lines: Iterator[tuple[int, str]]


def read(ctx: ReadContext) -> Iterator[FaceRecord]:
    """Stream the records of CelebA (``celeba``) or CelebA aligned (``celeba-aligned``)."""
    root = ctx.root
    wild = ctx.dataset == "celeba"
    anno = root / "Anno"
    name = "list_landmarks_celeba.txt" if wild else "list_landmarks_align_celeba.txt"
    listings = [_open_list(ctx, anno / name, LANDMARK_NAMES)]
    if wild:
        listings.append(_open_list(ctx, anno / "list_bbox_celeba.txt", BBOX_NAMES))
    partition = root / "Eval" / "list_eval_partition.txt"
    listings.append(_Listing(partition, None, ctx.lines(partition)))
    folder, ext = ("img_celeba", ".jpg") if wild else _aligned_folder(root)
    paths = [listing.path for listing in listings]
    read_any = False
    for index, rows in _zip(listings):
        read_any = True
        try:
            yield _record(ctx, paths, rows, f"{folder}/{index:06d}{ext}")
        except AnnotationError as err:
            err.key = err.key or record_key(ctx.dataset, f"{index:06d}", 0)
            ctx.fail(err, _split_hint(rows[-1][1]))
    if not read_any:
        ctx.no_records(paths[0], "")


def _aligned_folder(root: Path) -> tuple[str, str]:
    """``img_align_celeba/*.jpg``, or the PNG release ``img_align_celeba_png/*.png`` when only it exists."""
    if not (root / "img_align_celeba").is_dir() and (root / "img_align_celeba_png").is_dir():
        return "img_align_celeba_png", ".png"
    return "img_align_celeba", ".jpg"


def _open_list(ctx: ReadContext, path: Path, names: list[str]) -> _Listing:
    """Check the count line and the column-name line; return the rest as a stream."""
    lines = ctx.lines(path)
    number, text = next(lines, (1, ""))
    digits = text.strip()
    if number != 1 or not (digits.isdigit() and digits.isascii() and len(digits) <= 9):
        raise AnnotationError(str(path), 1, "the record count on line 1", repr(text if number == 1 else ""))
    count = int(digits)
    if count != OFFICIAL_COUNT:
        logger.info("%s announces %d records (the official release has %d)", path, count, OFFICIAL_COUNT)
    number, text = next(lines, (2, ""))
    if number != 2 or text.split() != names:
        raise AnnotationError(str(path), 2, f"the column names {' '.join(names)!r}", repr(text))
    return _Listing(path, count, lines)


Row = tuple[int, list[str]]  # line number, whitespace-separated fields


def _zip(listings: list[_Listing]) -> Iterator[tuple[int, list[Row]]]:
    """Zip the record lines of all files; check ids, counts and equal lengths as it goes."""
    index = 0
    for index, lines in enumerate(zip_longest(*(listing.lines for listing in listings)), 1):
        image_id = f"{index:06d}.jpg"
        rows = [
            _check_row(listing, line, index, image_id) for listing, line in zip(listings, lines, strict=True)
        ]
        yield index, rows
    for listing in listings:
        if listing.count is not None and listing.count != index:
            raise AnnotationError(
                str(listing.path), 1, f"a count equal to the {index} records that follow", str(listing.count)
            )


def _check_row(listing: _Listing, line: tuple[int, str] | None, index: int, image_id: str) -> Row:
    """The fields of one record line, after checking that its id is the ``index``-th."""
    if line is None:
        raise AnnotationError(
            str(listing.path),
            "end of file",
            f"a record for {image_id} (the other list files have one)",
            "the end of the file",
        )
    number, text = line
    if listing.count is not None and index > listing.count:
        raise AnnotationError(
            str(listing.path),
            number,
            f"no more than the {listing.count} records line 1 announces",
            f"record {index}",
        )
    fields = text.split()
    if fields[0] != image_id:
        raise AnnotationError(
            str(listing.path), number, f"image id {image_id} (ids run from 000001)", repr(fields[0])
        )
    return number, fields


def _record(ctx: ReadContext, paths: list[Path], rows: list[Row], image: str) -> FaceRecord:
    """One face from its zipped lines: landmarks, box (in the wild only), partition."""
    (lm_line, lm_fields), (part_line, part_fields) = rows[0], rows[-1]
    _count(paths[0], lm_line, lm_fields, 11)
    coords = parse_ints(lm_fields[1:], paths[0], lm_line, "coordinate")
    bbox = None
    if len(rows) == 3:
        box_line, box_fields = rows[1]
        _count(paths[1], box_line, box_fields, 5)
        x, y, w, h = parse_ints(box_fields[1:], paths[1], box_line, "box value")
        if w < 1 or h < 1:
            raise AnnotationError(str(paths[1]), box_line, "a box width and height >= 1", f"{w} x {h}")
        bbox = box_values((x, y, x + w - 1, y + h - 1), paths[1], box_line)
    _count(paths[-1], part_line, part_fields, 2)
    split = PARTITIONS.get(part_fields[1])
    if split is None:
        raise AnnotationError(str(paths[-1]), part_line, "partition 0, 1 or 2", repr(part_fields[1]))
    ctx.guard.check_inside(image, paths[0], lm_line)
    return ctx.make(
        name=lm_fields[0],
        split=split,
        image=image,
        face=0,
        landmarks=landmark_array(coords, paths[0], lm_line),
        origin=(paths[0], lm_line),
        bbox=bbox,
        unique_key=f"{ctx.dataset}_{lm_fields[0][:-4]}_f0",  # ids are checked to run 000001, 000002, …
    )


def _count(path: Path, number: int, fields: list[str], count: int) -> None:
    if len(fields) != count:
        raise AnnotationError(str(path), number, f"{count} fields", f"{len(fields)} in {' '.join(fields)!r}")


def _split_hint(fields: list[str]) -> str:
    """The split of a record whose other lines failed, from its partition line when readable."""
    return PARTITIONS.get(fields[1], "") if len(fields) == 2 else ""
