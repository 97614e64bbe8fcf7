"""The deterministic tar writer: read back by tarfile and webdataset, fixed metadata, sorted order."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest
import webdataset as wds
from hypothesis import given, settings
from hypothesis import strategies as st

from flmprep.shards.tarwriter import RECORD, TarWriter

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=1, max_size=160)
MEMBERS = st.dictionaries(NAMES, st.binary(max_size=1500), min_size=0, max_size=12)


def _write(members: dict[str, bytes]) -> tuple[bytes, TarWriter]:
    out = io.BytesIO()
    writer = TarWriter(out)
    for name in sorted(members, key=lambda n: n.encode()):
        writer.add(name, members[name])
    writer.close()
    return out.getvalue(), writer


@settings(max_examples=60, deadline=None)
@given(MEMBERS)
def test_tarfile_reads_back_every_member_with_fixed_metadata(members: dict[str, bytes]) -> None:
    data, writer = _write(members)
    assert len(data) % RECORD == 0
    assert writer.size == len(data)
    assert writer.sha256() == hashlib.sha256(data).hexdigest()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        infos = tar.getmembers()
        assert [i.name for i in infos] == sorted(members, key=lambda n: n.encode())
        for info in infos:
            assert info.isreg()
            assert (info.mtime, info.uid, info.gid, info.mode) == (0, 0, 0, 0o644)
            assert (info.uname, info.gname) == ("", "")
            extracted = tar.extractfile(info)
            assert extracted is not None
            assert extracted.read() == members[info.name]


@settings(max_examples=20, deadline=None)
@given(MEMBERS)
def test_same_members_give_identical_bytes(members: dict[str, bytes]) -> None:
    assert _write(members)[0] == _write(dict(reversed(list(members.items()))))[0]


def test_webdataset_groups_members_into_samples(tmp_path: Path) -> None:
    members = {
        "a_v00.jpg": b"\xff\xd8jpeg", "a_v00.json": b'{"k":1}', "a_v00.hm.png": b"png",
        "a_v01.jpg": b"j2", "a_v01.json": b"{}",
        "b" * 120 + "_v00.json": b"{}",  # longer than ustar's 100-byte name field: PAX path record
    }
    path = tmp_path / "shard-0000.tar"
    path.write_bytes(_write(members)[0])
    samples = list(wds.WebDataset(str(path), shardshuffle=False))
    keys = [s["__key__"] for s in samples]
    assert keys == ["a_v00", "a_v01", "b" * 120 + "_v00"]
    assert samples[0]["hm.png"] == b"png"
    assert samples[0]["jpg"] == b"\xff\xd8jpeg"
    assert samples[1]["json"] == b"{}"


def test_out_of_order_or_duplicate_names_are_refused() -> None:
    writer = TarWriter(io.BytesIO())
    writer.add("b.json", b"{}")
    with pytest.raises(ValueError, match=r"expected a name sorting after 'b.json'"):
        writer.add("a.json", b"{}")
    with pytest.raises(ValueError, match="sorting after"):
        writer.add("b.json", b"{}")
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.add("c.json", b"{}")


def test_empty_archive_is_a_valid_tar() -> None:
    data, _ = _write({})
    assert data == bytes(RECORD)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getmembers() == []


def test_the_dali_index_from_the_writers_offsets_is_exact_for_long_names(tmp_path: Path) -> None:
    """Names over 100 bytes get a PAX header; the data offsets ``add`` returns (and so the
    index) still point at each member's bytes, as ``tarfile`` reads them."""
    from flmprep.shards.index import IndexedMember, dali_index

    long_key = "wflw_test_largepose_" + "x" * 120 + "_f0_v00"
    names = ["a_f0_v00.jpg", "a_f0_v00.json", f"{long_key}.hm.png", f"{long_key}.jpg", f"{long_key}.json"]
    payloads = [bytes([i]) * (100 + 700 * i) for i in range(len(names))]
    path = tmp_path / "shard-0000.tar"
    with open(path, "wb") as fh:
        writer = TarWriter(fh)
        members = [IndexedMember(n, writer.add(n, d), len(d)) for n, d in zip(names, payloads, strict=True)]
        writer.close()
    with tarfile.open(path) as tar:
        infos = [m for m in tar if m.isfile()]
    assert [(m.name, m.offset_data, m.size) for m in infos] == [(m.name, m.offset, m.size) for m in members]
    lines = dali_index(members).decode().splitlines()
    assert lines[0] == "v1.2 2"
    assert lines[2].split(" ")[:4] == ["hm.png", str(infos[2].offset_data), str(infos[2].size), names[2]]
