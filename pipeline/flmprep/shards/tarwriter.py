"""A minimal deterministic tar writer: POSIX ustar headers built from a fixed template.

Every member is a regular file with mode 0644, uid/gid 0, empty user/group names and a fixed
mtime; names must be added in strictly increasing (byte) order. Names longer than 100 bytes
get a PAX ``path`` record. The archive ends with two zero blocks, padded to 10240 bytes like
GNU tar and Python's ``tarfile``. The writer hashes what it writes (sha256) as it goes.
"""

from __future__ import annotations

import hashlib
from typing import BinaryIO

BLOCK = 512
RECORD = 20 * BLOCK
MTIME = 0
_MAX_SIZE = 8**11 - 1  # 11 octal digits
_NUL = b"\0"
_ZEROS = bytes(BLOCK)


def _octal(value: int, width: int) -> bytes:
    """``width``-byte numeric field: zero-padded octal digits and a NUL."""
    return b"%0*o" % (width - 1, value) + _NUL


class _Template:
    """A header with every field fixed but the name and size. The checksum is the template's
    byte sum (name and size fields zero, checksum field spaces) plus theirs."""

    def __init__(self, mtime: int, typeflag: bytes) -> None:
        self.block = bytes(_template(mtime, typeflag))
        self.sum = sum(self.block)

    def header(self, name: bytes, size: int) -> bytes:
        field = _octal(size, 12)
        checksum = b"%06o\0 " % (self.sum + sum(name) + sum(field))
        b = self.block
        return b"".join((name, _ZEROS[len(name):100], b[100:124], field, b[136:148], checksum, b[156:]))


def _template(mtime: int, typeflag: bytes) -> bytearray:
    h = bytearray(BLOCK)
    h[100:108] = _octal(0o644, 8)
    h[108:116] = _octal(0, 8)
    h[116:124] = _octal(0, 8)
    h[136:148] = _octal(mtime, 12)
    h[148:156] = b" " * 8
    h[156:157] = typeflag
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[329:337] = _octal(0, 8)
    h[337:345] = _octal(0, 8)
    return h


def _pax_record(key: str, value: str) -> bytes:
    body = f" {key}={value}\n".encode()
    n = len(body) + 1
    while len(str(n)) + len(body) != n:
        n = len(str(n)) + len(body)
    return str(n).encode() + body


#: Members are written to the file (and hashed) in batches of about this many bytes.
FLUSH_BYTES = 1 << 20


class TarWriter:
    """Append regular-file members to ``fh`` in strictly increasing name order. Writes are
    batched (``FLUSH_BYTES``); ``flush``, ``sha256`` and ``close`` write out what is pending."""

    def __init__(self, fh: BinaryIO, *, mtime: int = MTIME) -> None:
        self._fh = fh
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._file = _Template(mtime, b"0")
        self._pax = _Template(mtime, b"x")
        self._last = b""
        self._sha = hashlib.sha256()
        self._size = 0
        self._closed = False

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._size

    def sha256(self) -> str:
        """Hex sha256 of the bytes added so far (the whole archive once closed)."""
        self.flush()
        return self._sha.hexdigest()

    def flush(self) -> None:
        """Write out and hash the pending members."""
        if self._pending:
            chunk = b"".join(self._pending)
            self._pending, self._pending_size = [], 0
            self._fh.write(chunk)
            self._sha.update(chunk)

    def _write(self, data: bytes) -> None:
        self._pending.append(data)
        self._pending_size += len(data)
        self._size += len(data)
        if self._pending_size >= FLUSH_BYTES:
            self.flush()

    def _member(self, template: _Template, name: bytes, data: bytes) -> None:
        """Header, data and zero padding, queued as one piece."""
        self._write(b"".join((template.header(name, len(data)), data, _ZEROS[: -len(data) % BLOCK])))

    def add(self, name: str, data: bytes) -> int:
        """Append one member and return the byte offset of its data in the archive (after its
        header, and after the PAX record of a long name); raises ValueError on an out-of-order,
        empty or oversized name."""
        if self._closed:
            raise ValueError("tar writer: expected an open archive, found it closed")
        raw = name.encode("utf-8")
        if not raw or raw <= self._last:
            raise ValueError(f"tar member {name!r}: expected a name sorting after {self._last.decode()!r}")
        if len(data) > _MAX_SIZE:
            raise ValueError(f"tar member {name!r}: expected at most {_MAX_SIZE} bytes, found {len(data)}")
        self._last = raw
        if len(raw) > 100:
            self._member(self._pax, b"././@PaxHeader", _pax_record("path", name))
            raw = raw[:100]
        offset = self._size + BLOCK
        self._member(self._file, raw, data)
        return offset

    def close(self) -> None:
        """Write the end-of-archive blocks and pad to a whole 10240-byte record."""
        if self._closed:
            return
        end = 2 * BLOCK
        end += -(self._size + end) % RECORD
        self._write(bytes(end))
        self.flush()
        self._closed = True
