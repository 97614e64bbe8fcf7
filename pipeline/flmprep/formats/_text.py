"""Line streaming for the text formats: CRLF or LF, UTF-8, blank lines only at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from flmprep.errors import AnnotationError


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, text without CR/LF) for every line, streaming; a BOM is dropped."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            for number, text in enumerate(f, 1):
                yield number, text.rstrip("\r\n")
    except UnicodeDecodeError:
        raise _decode_error(path) from None


def _decode_error(path: Path) -> AnnotationError:
    """Locate the first undecodable line (slow path, only after a decode failure)."""
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return AnnotationError(
                    str(path), number, "UTF-8 text", f"undecodable byte 0x{raw[exc.start]:02x}"
                )
    return AnnotationError(str(path), "file", "UTF-8 text", "an undecodable byte")


def iter_content_lines(path: Path, start: int = 1) -> Iterator[tuple[int, str]]:
    """Non-blank lines from line ``start`` on; a blank line followed by content is an error."""
    blank = 0
    for number, text in iter_lines(path):
        if number < start:
            continue
        if not text.strip():
            blank = blank or number
            continue
        if blank:
            raise AnnotationError(str(path), blank, "a record (blank lines only at the end)", "an empty line")
        yield number, text
