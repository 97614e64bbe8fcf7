"""Safe shard reading: every kind of hostile or broken tar gives a clear error naming the member,
and nothing is ever written to disk (the reader and `flmprep inspect` both)."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import tarfile
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flmprep.cli.inspect_cmd import inspect_cmd
from flmprep.shards.reader import BLOCK, Limits, ShardReadError, iter_members, iter_samples
from tests.helpers.shards import shard_members, tar_bytes

GOOD = tar_bytes(shard_members([f"celeba_{i:06d}_f0" for i in range(3)]))


def _tar(*infos: tuple[tarfile.TarInfo, bytes], fmt: int = tarfile.USTAR_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for info, data in infos:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buf.getvalue()


def _good_members() -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(GOOD)) as tar:
        return tar.getmembers()


def _info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def _error(tmp_path: Path, data: bytes, limits: Limits | None = None) -> ShardReadError:
    path = tmp_path / "shard.tar"
    path.write_bytes(data)
    with pytest.raises(ShardReadError) as caught:
        list(iter_members(path, limits=limits))
    return caught.value


def _listing(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize(
    ("name", "kind", "reason", "text"),
    [
        ("../evil.json", tarfile.REGTYPE, "unsafe_name", "'..'"),
        ("a/../../evil.json", tarfile.REGTYPE, "unsafe_name", "'..'"),
        ("/etc/evil.json", tarfile.REGTYPE, "unsafe_name", "absolute"),
        ("evil.lnk", tarfile.SYMTYPE, "link_member", "symbolic link"),
        ("evil.hard", tarfile.LNKTYPE, "link_member", "hard link"),
        ("evil.chr", tarfile.CHRTYPE, "special_member", "character device"),
        ("evil.blk", tarfile.BLKTYPE, "special_member", "block device"),
        ("evil.fifo", tarfile.FIFOTYPE, "special_member", "fifo"),
    ],
)
def test_hostile_members_are_refused_by_name(
    tmp_path: Path, name: str, kind: bytes, reason: str, text: str
) -> None:
    data = _tar((_info("ok_v00.json"), b"{}"), (_info(name, kind, link="/etc/passwd"), b"x"))
    error = _error(tmp_path, data)
    assert error.reason == reason and error.member == name and error.offset == BLOCK * 2
    assert name in str(error) and text in str(error) and "shard.tar" in str(error)


def test_oversized_member_is_refused_before_reading_it(tmp_path: Path) -> None:
    data = _tar((_info("big_v00.jpg"), bytes(5000)))
    error = _error(tmp_path, data, Limits(max_member_bytes=4096))
    assert error.reason == "member_too_large" and error.member == "big_v00.jpg"
    assert "expected at most 4096 bytes, found 5000" in str(error)
    assert len(list(iter_members(tmp_path / "shard.tar", limits=Limits(max_member_bytes=5000)))) == 1


def test_truncation_inside_a_header(tmp_path: Path) -> None:
    second = _good_members()[1]
    error = _error(tmp_path, GOOD[: second.offset + 100])
    assert error.reason == "truncated" and error.offset == second.offset
    assert "expected a 512-byte header, found 100 bytes" in str(error)


def test_truncation_inside_data_names_the_member(tmp_path: Path) -> None:
    first = _good_members()[0]
    error = _error(tmp_path, GOOD[: BLOCK + first.size // 2])
    assert error.member == first.name and f"expected {-(-first.size // BLOCK) * BLOCK} bytes" in str(error)


def test_missing_end_of_archive_is_truncation(tmp_path: Path) -> None:
    members = _good_members()
    last = members[-1]
    end = last.offset_data + -(-last.size // BLOCK) * BLOCK
    error = _error(tmp_path, GOOD[:end])
    assert error.reason == "truncated" and "end-of-archive" in str(error)


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"", "empty file"),
        (b"hello, I am not a tar file\n" * 40, "valid checksum"),
        (b"\xff\xd8\xff\xe0" + bytes(2000), "valid checksum"),
        (b"short", "512-byte header"),
    ],
)
def test_non_tar_files(tmp_path: Path, data: bytes, text: str) -> None:
    error = _error(tmp_path, data)
    assert error.reason == "not_a_tar" and text in str(error)


def test_corrupt_header_mid_archive(tmp_path: Path) -> None:
    members = _good_members()
    bad = bytearray(GOOD)
    bad[members[1].offset + 10] ^= 0x55
    error = _error(tmp_path, bytes(bad))
    assert error.reason == "corrupt_header" and error.offset == members[1].offset


def _zeros_gzip(total: int) -> bytes:
    """A gzip stream of a tar whose 1 MiB members hold zeros: ~1000× compression."""
    header = tarfile.TarInfo("bomb_v00.bin")
    header.size = 1 << 20
    member = header.tobuf(format=tarfile.USTAR_FORMAT)
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [packer.compress(member + bytes(header.size)) for _ in range(total >> 20)]
    return b"".join(out) + packer.compress(bytes(2 * BLOCK)) + packer.flush()


def test_gzip_bomb_is_stopped_with_a_bounded_read(tmp_path: Path) -> None:
    data = _zeros_gzip(8 << 20)
    assert len(data) < 20_000  # expands to 8 MiB; the budget is 20× + 1 MiB
    error = _error(tmp_path, data, Limits(max_ratio=20))
    assert error.reason == "compression_bomb" and error.member == "bomb_v00.bin"
    assert f"expected gzip input to expand to at most 20× the {len(data)}-byte input" in str(error)


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress])
def test_compressed_shards_read_like_plain_ones(tmp_path: Path, compress: object) -> None:
    path = tmp_path / "shard.tar.x"
    path.write_bytes(compress(GOOD))  # type: ignore[operator]
    plain = tmp_path / "plain.tar"
    plain.write_bytes(GOOD)
    assert list(iter_samples(path)) == list(iter_samples(plain))


def test_truncated_and_corrupt_gzip_are_reported(tmp_path: Path) -> None:
    data = gzip.compress(GOOD)
    assert _error(tmp_path, data[: len(data) // 2]).reason == "truncated"
    assert _error(tmp_path, data[:10] + b"\xff" * 200).reason == "corrupt_compression"


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_long_names_in_pax_and_gnu_tars(tmp_path: Path, fmt: int) -> None:
    name = "d" * 120 + "/" + "k" * 130 + ".json"
    path = tmp_path / "long.tar"
    path.write_bytes(_tar((_info(name), b"{}"), (_info("x/y_v00.jpg"), b"jpg"), fmt=fmt))
    members = list(iter_members(path))
    assert [(m.name, m.data) for m in members] == [(name, b"{}"), ("x/y_v00.jpg", b"jpg")]
    assert [s.key for s in iter_samples(path)] == [name.rsplit(".", 1)[0], "x/y_v00"]


def test_directories_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "dirs.tar"
    path.write_bytes(_tar((_info("sub", tarfile.DIRTYPE), b""), (_info("sub/a_v00.json"), b"{}")))
    assert [m.name for m in iter_members(path)] == ["sub/a_v00.json"]


def test_reader_matches_tarfile_on_a_good_shard(tmp_path: Path) -> None:
    path = tmp_path / "good.tar"
    path.write_bytes(GOOD)
    with tarfile.open(path) as tar:
        expected = [(m.name, tar.extractfile(m).read()) for m in tar]  # type: ignore[union-attr]
    assert [(m.name, m.data) for m in iter_members(path)] == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_cut_or_flipped_byte_gives_success_or_a_clear_error(tmp_path: Path, data: st.DataObject) -> None:
    blob = bytearray(GOOD)
    if data.draw(st.booleans()):
        blob = blob[: data.draw(st.integers(0, len(blob) - 1))]
    else:
        at = data.draw(st.integers(0, len(blob) - 1))
        blob[at] ^= data.draw(st.integers(1, 255))
    path = tmp_path / "fuzz.tar"
    path.write_bytes(bytes(blob))
    try:
        list(iter_samples(path, limits=Limits(max_member_bytes=1 << 16)))
    except ShardReadError as e:
        assert str(e).startswith(str(path))


@pytest.mark.parametrize(
    "data",
    [
        _tar((_info("../../escape.json"), b"{}")),
        _tar((_info("link.json", tarfile.SYMTYPE, link="/etc/passwd"), b"")),
        _tar((_info("/tmp/abs.json"), b"{}")),
        GOOD[:2000],
        b"not a tar" * 100,
    ],
)
def test_inspect_exits_2_and_writes_nothing(tmp_path: Path, data: bytes) -> None:
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    (work / "s.tar").write_bytes(data)
    before = _listing(tmp_path)
    result = CliRunner().invoke(inspect_cmd, [str(work / "s.tar")])
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and "s.tar" in result.output
    assert _listing(tmp_path) == before


def test_inspect_refuses_a_fifo_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.tar"
    os.mkfifo(fifo)
    result = CliRunner().invoke(inspect_cmd, [str(fifo)])
    assert result.exit_code == 2 and "expected a regular file" in result.output


def test_inspect_missing_input_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(inspect_cmd, [str(tmp_path / "nope.tar")])
    assert result.exit_code == 2 and "found nothing" in result.output


@pytest.mark.parametrize(
    ("pax", "reason", "text"),
    [
        ({"path": "../../x.json"}, "unsafe_name", "'..'"),
        ({"size": "abc"}, "corrupt_header", "expected a decimal pax size, found 'abc'"),
    ],
)
def test_pax_records_cannot_smuggle_names_or_sizes(
    tmp_path: Path, pax: dict[str, str], reason: str, text: str
) -> None:
    info = _info("a_v00.json")
    info.pax_headers = pax
    error = _error(tmp_path, _tar((info, b"{}"), fmt=tarfile.PAX_FORMAT))
    assert error.reason == reason and text in str(error)
