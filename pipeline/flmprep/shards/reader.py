"""A safe streaming tar reader: members in archive order, grouped into WebDataset samples.

It parses 512-byte headers itself and never touches the file system with a member name: nothing
is extracted and no link is followed. Unsafe or broken input (``..`` or absolute names, links,
device/fifo members, oversized members, truncated or non-tar files, compression bombs) raises
``ShardReadError`` naming the archive, the member and its byte offset.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from flmprep.errors import FlmprepError

BLOCK = 512
#: Default largest member (bytes) the reader accepts.
DEFAULT_MAX_MEMBER_BYTES = 64 << 20
#: Default largest expansion of compressed input: decompressed bytes per compressed byte.
DEFAULT_MAX_RATIO = 100
_SLACK = 1 << 20  # tiny compressed files may always expand to this many bytes
_META_LIMIT = 1 << 20  # pax / GNU long-name payloads
_FILE_TYPES = frozenset({b"0", b"\x00", b"7"})
_LINK_TYPES = {b"1": "hard link", b"2": "symbolic link"}
_SPECIAL_TYPES = {b"3": "character device", b"4": "block device", b"6": "fifo"}
_COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))
_DECOMPRESS_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError)


class ShardReadError(FlmprepError):
    """Unsafe or unreadable tar input; ``reason`` is a stable code, ``member`` the member name."""

    def __init__(self, path: str, reason: str, message: str, member: str = "", offset: int = -1) -> None:
        self.path, self.reason, self.member, self.offset = path, reason, member, offset
        where = f"member {member!r} at byte {offset}: " if member else f"at byte {offset}: "
        super().__init__(f"{path}: {where if offset >= 0 else ''}{message}")


@dataclass(frozen=True)
class Limits:
    """Bounds on what the reader accepts."""

    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES
    max_ratio: float = DEFAULT_MAX_RATIO


@dataclass(frozen=True)
class Member:
    """One regular file member: its name, its header offset in the tar stream and its bytes."""

    name: str
    offset: int
    data: bytes


@dataclass(frozen=True)
class Sample:
    """Consecutive members sharing a key; ``members`` are (extension, bytes) in archive order,
    ``offsets`` their header offsets (filled by ``iter_samples``)."""

    key: str
    offset: int
    members: tuple[tuple[str, bytes], ...]
    offsets: tuple[int, ...] = ()

    def get(self, ext: str) -> bytes | None:
        """The bytes of the first member with extension ``ext`` (e.g. "json", "hm.png")."""
        return next((data for e, data in self.members if e == ext), None)

    @property
    def extensions(self) -> tuple[str, ...]:
        return tuple(e for e, _ in self.members)


def split_name(name: str) -> tuple[str, str]:
    """(key, extension): the key ends at the first dot of the basename (WebDataset's rule)."""
    head, _, base = name.rpartition("/")
    stem, _, ext = base.partition(".")
    return (f"{head}/{stem}" if head else stem), ext


class _Readable(Protocol):
    def read(self, n: int, /) -> bytes: ...


def _decompressor(kind: str, raw: BinaryIO) -> _Readable:
    """A streaming decompressing reader: each ``read(n)`` expands at most ``n`` bytes."""
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if kind == "bzip2":
        return bz2.BZ2File(raw, mode="rb")
    return lzma.LZMAFile(raw, mode="rb")


class _Stream:
    """Reads exactly-n-byte blocks from a raw or decompressing file, bounding the expansion."""

    def __init__(self, path: str, raw: BinaryIO, limits: Limits) -> None:
        self.path, self.pos, self.kind = path, 0, "tar"
        head = raw.read(8)
        raw.seek(0)
        self.file: _Readable = raw
        self.budget, self.compressed, self.ratio = -1, 0, 0.0
        for magic, kind in _COMPRESSED:
            if head.startswith(magic):
                self.kind = kind
                self.file = _decompressor(kind, raw)
                self.compressed = os.fstat(raw.fileno()).st_size
                self.ratio = limits.max_ratio
                self.budget = int(limits.max_ratio * self.compressed) + _SLACK

    def read(self, n: int, member: str, offset: int) -> bytes:
        """Up to ``n`` bytes (fewer only at the end of the stream)."""
        if self.budget >= 0 and self.pos + n > self.budget:
            bound = f"{self.ratio:g}× the {self.compressed}-byte input + 1 MiB = {self.budget} bytes"
            raise ShardReadError(
                self.path,
                "compression_bomb",
                f"expected {self.kind} input to expand to at most {bound}, found more (a bomb?)",
                member,
                offset,
            )
        try:
            data = self.file.read(n)
        except EOFError as e:
            raise ShardReadError(self.path, "truncated", f"{self.kind} stream: {e}", member, offset) from e
        except _DECOMPRESS_ERRORS as e:
            reason = "corrupt_compression"
            raise ShardReadError(self.path, reason, f"{self.kind} stream: {e}", member, offset) from e
        self.pos += len(data)
        return data


def _number(field: bytes, path: str, what: str, offset: int) -> int:
    """A tar numeric field: NUL/space-terminated octal, or GNU base-256 when the top bit is set."""
    if field[:1] and field[0] & 0x80:
        if field[0] == 0xFF:
            raise ShardReadError(
                path, "corrupt_header", f"expected a non-negative {what}, found base-256 < 0"
            )
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    text = field.split(b"\x00", 1)[0].strip(b" ")
    try:
        return int(text, 8) if text else 0
    except ValueError:
        raise ShardReadError(
            path, "corrupt_header", f"expected an octal {what}, found {text[:16]!r}", offset=offset
        ) from None


def _checksum_ok(block: bytes, path: str, offset: int) -> bool:
    try:
        stored = _number(block[148:156], path, "checksum", offset)
    except ShardReadError:
        return False
    unsigned = sum(block) - sum(block[148:156]) + 8 * 32
    if stored == unsigned:
        return True
    signed = sum(b - 256 if b > 127 else b for b in block) - sum(
        b - 256 if b > 127 else b for b in block[148:156]
    )
    return stored == signed + 8 * 32


def _text(raw: bytes, path: str, offset: int) -> str:
    try:
        return raw.split(b"\x00", 1)[0].decode("utf-8")
    except UnicodeDecodeError:
        raise ShardReadError(
            path, "bad_name", f"expected a UTF-8 member name, found {raw[:60]!r}", offset=offset
        ) from None


def check_name(name: str, path: str, offset: int) -> None:
    """Reject empty, absolute, drive-letter and ``..`` member names."""
    parts = name.replace("\\", "/").split("/")
    if not name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        problem = "a relative member name, found an absolute one" if name else "a member name, found none"
        raise ShardReadError(path, "unsafe_name", f"expected {problem}", name, offset)
    if ".." in parts:
        raise ShardReadError(path, "unsafe_name", "expected no '..' path component, found one", name, offset)


def _pax_records(data: bytes, path: str, offset: int) -> dict[str, str]:
    """The ``key=value`` records of a pax extended header."""
    out: dict[str, str] = {}
    i = 0
    while i < len(data) and data[i : i + 1] != b"\x00":
        space = data.find(b" ", i)
        try:
            length = int(data[i:space]) if space > i else 0
            key, _, value = data[space + 1 : i + length - 1].partition(b"=")
            out[key.decode("utf-8")] = value.decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise ShardReadError(
                path, "corrupt_header", "expected pax records, found garbage", offset=offset
            ) from None
        if length <= 0:
            raise ShardReadError(path, "corrupt_header", "expected a pax record length > 0", offset=offset)
        i += length
    return out


class _Parser:
    """The header-by-header state machine over one stream."""

    def __init__(self, path: str, stream: _Stream, limits: Limits) -> None:
        self.path, self.stream, self.limits = path, stream, limits
        self.offset = 0
        self.pending: dict[str, str] = {}

    def _read_exact(self, n: int, member: str, what: str) -> bytes:
        data = self.stream.read(n, member, self.offset)
        if len(data) != n:
            raise ShardReadError(
                self.path,
                "truncated",
                f"expected {n} bytes of {what}, found {len(data)} (truncated archive)",
                member,
                self.offset,
            )
        return data

    def _payload(self, size: int, member: str, what: str) -> bytes:
        padded = -(-size // BLOCK) * BLOCK
        return self._read_exact(padded, member, what)[:size]

    def _header(self) -> bytes | None:
        block = self.stream.read(BLOCK, "", self.offset)
        if not block and self.offset == 0:
            raise ShardReadError(self.path, "not_a_tar", "expected a tar archive, found an empty file")
        if len(block) < BLOCK:
            if not block:
                raise ShardReadError(
                    self.path,
                    "truncated",
                    "expected another header or the end-of-archive block, found the end of the file",
                    offset=self.offset,
                )
            raise ShardReadError(
                self.path,
                "truncated" if self.offset else "not_a_tar",
                f"expected a 512-byte header, found {len(block)} bytes",
                offset=self.offset,
            )
        if block == bytes(BLOCK):
            return None
        if not _checksum_ok(block, self.path, self.offset):
            reason = "corrupt_header" if self.offset else "not_a_tar"
            what = "a tar header with a valid checksum"
            raise ShardReadError(
                self.path, reason, f"expected {what}, found {block[:16]!r}…", offset=self.offset
            )
        return block

    def _name(self, block: bytes) -> str:
        if "path" in self.pending:
            return self.pending["path"]
        name = _text(block[0:100], self.path, self.offset)
        if block[257:263] == b"ustar\x00" and block[345] != 0:
            name = _text(block[345:500], self.path, self.offset) + "/" + name
        return name

    def members(self) -> Iterator[Member]:
        """Regular-file members in order; raises on anything unsafe."""
        while (block := self._header()) is not None:
            start = self.offset
            name = self._name(block)
            size = self._size(block, start)
            kind = block[156:157]
            self.offset += BLOCK
            if kind in (b"x", b"g", b"L", b"K"):
                self._meta(kind, size, name, start)
                continue
            self.pending = {}
            check_name(name, self.path, start)
            self._check_kind(kind, name, start)
            if size > self.limits.max_member_bytes:
                raise ShardReadError(
                    self.path,
                    "member_too_large",
                    f"expected at most {self.limits.max_member_bytes} bytes, found {size}",
                    name,
                    start,
                )
            data = self._payload(size, name, "member data")
            self.offset += -(-size // BLOCK) * BLOCK
            if kind == b"5" or (name.endswith("/") and size == 0):
                continue
            yield Member(name, start, data)

    def _size(self, block: bytes, start: int) -> int:
        """The member size: a pax ``size`` record overrides the header field."""
        text = self.pending.get("size")
        if text is None:
            return _number(block[124:136], self.path, "size", start)
        if not text.isdigit():
            raise ShardReadError(
                self.path, "corrupt_header", f"expected a decimal pax size, found {text[:20]!r}", offset=start
            )
        return int(text)

    def _meta(self, kind: bytes, size: int, name: str, start: int) -> None:
        if size > _META_LIMIT:
            raise ShardReadError(
                self.path,
                "member_too_large",
                f"expected an extended header of at most {_META_LIMIT} bytes, found {size}",
                name,
                start,
            )
        data = self._payload(size, name, "extended header")
        self.offset += -(-size // BLOCK) * BLOCK
        if kind == b"x":
            self.pending.update(_pax_records(data, self.path, start))
        elif kind == b"L":
            self.pending["path"] = _text(data, self.path, start)

    def _check_kind(self, kind: bytes, name: str, start: int) -> None:
        if kind in _FILE_TYPES or kind == b"5":
            return
        if kind in _LINK_TYPES:
            what = f"a regular file, found a {_LINK_TYPES[kind]}"
            raise ShardReadError(self.path, "link_member", f"expected {what}", name, start)
        if kind in _SPECIAL_TYPES:
            what = f"a regular file, found a {_SPECIAL_TYPES[kind]}"
            raise ShardReadError(self.path, "special_member", f"expected {what}", name, start)
        raise ShardReadError(
            self.path, "special_member", f"expected a regular file, found tar type {kind!r}", name, start
        )


def iter_members(path: str | Path, *, limits: Limits | None = None) -> Iterator[Member]:
    """Stream the regular-file members of a (possibly gzip/bzip2/xz compressed) tar."""
    text = str(path)
    if not Path(path).is_file():
        found = "nothing" if not Path(path).exists() else "a directory or special file"
        raise ShardReadError(text, "unreadable", f"expected a regular file, found {found}")
    try:
        raw = open(path, "rb")  # noqa: SIM115 (closed in the finally below)
    except OSError as e:
        raise ShardReadError(text, "unreadable", f"cannot open: {e.strerror or e}") from e
    try:
        yield from _Parser(text, _Stream(text, raw, limits or Limits()), limits or Limits()).members()
    finally:
        raw.close()


def iter_samples(path: str | Path, *, limits: Limits | None = None) -> Iterator[Sample]:
    """Group consecutive members with the same key into samples (WebDataset's grouping)."""
    key, members, offsets = "", list[tuple[str, bytes]](), list[int]()
    for member in iter_members(path, limits=limits):
        mkey, ext = split_name(member.name)
        if members and mkey != key:
            yield Sample(key, offsets[0], tuple(members), tuple(offsets))
            members, offsets = [], []
        key = mkey
        members.append((ext, member.data))
        offsets.append(member.offset)
    if members:
        yield Sample(key, offsets[0], tuple(members), tuple(offsets))
