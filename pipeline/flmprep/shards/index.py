"""The DALI index of a shard (``shard-NNNN.idx``): what ``nvidia.dali.fn.readers.webdataset``
reads to find each sample's members without scanning the tar.

Format (version 1.2, the one DALI's ``wds2idx`` writes): a first line ``v1.2 N`` (N samples),
then one line per sample in archive order, holding for each of its members, in archive order,
the four fields ``ext offset size name``: the extension (after the first dot of the basename),
the byte offset of the member's *data* in the tar, its size and its full name. The builder
writes it from the tar writer's own offsets, so it is exact for names that need a PAX header.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flmprep.shards.reader import BLOCK, Sample, split_name

INDEX_VERSION = "v1.2"


@dataclass(frozen=True)
class IndexedMember:
    """One tar member as the index lists it: its name, data offset and size."""

    name: str
    offset: int
    size: int


def dali_index(members: Iterable[IndexedMember]) -> bytes:
    """The index bytes of the members of one tar, in archive order (members sharing a key are
    one sample, as WebDataset groups them)."""
    lines: list[list[str]] = []
    last = None
    for m in members:
        if " " in m.name or "\n" in m.name:
            raise ValueError(f"tar member {m.name!r}: expected a name without spaces (the index "
                             "separates fields by spaces)")
        key, ext = split_name(m.name)
        if key != last:
            lines.append([])
            last = key
        lines[-1] += [ext, str(m.offset), str(m.size), m.name]
    head = f"{INDEX_VERSION} {len(lines)}\n"
    return (head + "".join(" ".join(line) + "\n" for line in lines)).encode()


def sample_members(samples: Sequence[Sample]) -> list[IndexedMember]:
    """The indexed members of samples read with ``shards.reader`` (their ``offsets`` are header
    offsets; a ustar header is one block, so the data follows it)."""
    out = []
    for s in samples:
        if len(s.offsets) != len(s.members):
            raise ValueError(f"sample {s.key}: expected member offsets from the reader, found none")
        for (ext, data), offset in zip(s.members, s.offsets, strict=True):
            out.append(IndexedMember(f"{s.key}.{ext}", offset + BLOCK, len(data)))
    return out
