"""Line streaming for the text formats: LF or CRLF, UTF-8, bounded lines, blank lines only at the end.

Files are opened through the dataset root's ``PathGuard`` and read as bytes: a line ends at LF
(a CR just before it is dropped); a CR anywhere else, a line longer than ``MAX_LINE_BYTES`` or
bytes that are not UTF-8 are errors naming the line. A UTF-8 BOM at the start is dropped.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

from flmprep.errors import AnnotationError
from flmprep.formats._paths import PathGuard

#: The longest line any text format has a use for (a WFLW record is about 2.3 kB).
MAX_LINE_BYTES = 1 << 16
_BOM = b"\xef\xbb\xbf"


_CHUNK = 1 << 20


def iter_lines(
    guard: PathGuard, path: Path, max_bytes: int | None = None
) -> Generator[tuple[int, str], None, None]:
    """Yield (1-based line number, text without its line end) for every line, streaming."""
    for number, raw in enumerate(_raw_lines(guard, path, max_bytes), 1):
        body = raw[:-1] if raw[-1:] == b"\r" else raw
        if len(raw) > MAX_LINE_BYTES or b"\r" in body or number == 1:
            body = _checked(path, number, raw, body)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            found = f"undecodable byte 0x{body[exc.start]:02x} at byte {exc.start + 1}"
            raise AnnotationError(str(path), number, "UTF-8 text", found) from None
        yield number, text


def _raw_lines(guard: PathGuard, path: Path, max_bytes: int | None) -> Iterator[bytes]:
    """The file's lines without their LF, read in chunks; the part of a line held in memory
    never exceeds ``MAX_LINE_BYTES`` (plus one chunk)."""
    with guard.open(path, max_bytes) as f:
        rest = b""
        while chunk := f.read(_CHUNK):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            if len(rest) > MAX_LINE_BYTES:
                yield from lines
                yield rest  # too long: iter_lines reports it
                return
            yield from lines
        if rest:
            yield rest


def _checked(path: Path, number: int, raw: bytes, body: bytes) -> bytes:
    """``body`` without a leading BOM (line 1), after the length and lone-CR checks."""
    if len(raw) > MAX_LINE_BYTES:
        found = f"one of more than {MAX_LINE_BYTES}"
        raise AnnotationError(str(path), number, f"a line of at most {MAX_LINE_BYTES} bytes", found)
    at = body.find(b"\r")
    if at >= 0:
        found = f"a lone CR at byte {at + 1} of the line (CR-only line ends?)"
        raise AnnotationError(str(path), number, "LF or CRLF line ends", found)
    return body[len(_BOM) :] if number == 1 and body.startswith(_BOM) else body


def iter_content_lines(
    guard: PathGuard, path: Path, start: int = 1, max_bytes: int | None = None
) -> Iterator[tuple[int, str]]:
    """Non-blank lines from line ``start`` on; a blank line followed by content is an error."""
    blank = 0
    for number, text in iter_lines(guard, path, max_bytes):
        if number < start:
            continue
        if not text.strip():
            blank = blank or number
            continue
        if blank:
            raise AnnotationError(str(path), blank, "a record (blank lines only at the end)", "an empty line")
        yield number, text
