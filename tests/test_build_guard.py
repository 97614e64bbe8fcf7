"""The build's guards: one build per OUT at a time (a lock the OS releases when its holder dies),
one clear line for an output that cannot be written, and no silent typo in --splits."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flmprep.atomic import atomic_output
from flmprep.builder.outdir import LOCK_FILE, locked
from flmprep.errors import ConfigError, OutputError
from tests.helpers.build_data import write_celeba

FLMPREP = str(Path(sys.executable).parent / "flmprep")
HOLD = "import sys, time\nfrom pathlib import Path\nfrom flmprep.builder.outdir import locked\n" \
       "with locked(Path(sys.argv[1])):\n    print('held', flush=True)\n    time.sleep(60)\n"


def _build(root: Path, out: Path, *extra: str, **kw: object) -> subprocess.CompletedProcess[str]:
    cmd = [FLMPREP, "build", "--dataset", "celeba", "--root", str(root), "--out", str(out), "--crops", "2",
           "--workers", "1", "--no-progress", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, **kw)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_celeba(tmp_path_factory.mktemp("celeba"), 6, seed=1)


def _holder(out: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.slow
def test_a_second_build_overwrite_or_resume_is_refused_while_one_runs(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _build(data, out).returncode == 0
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    holder = _holder(out)
    try:
        for extra in ((), ("--overwrite",), ("--resume",)):
            proc = _build(data, out, *extra)
            assert proc.returncode == 2, proc.stderr
            assert f"found one running: process {holder.pid} on" in proc.stderr, proc.stderr
            assert "Traceback" not in proc.stderr
        assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and p.name != LOCK_FILE} \
            == {p: b for p, b in before.items() if p.name != LOCK_FILE}
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    proc = _build(data, out, "--resume")  # the OS released the dead holder's lock
    assert proc.returncode == 0, proc.stderr
    assert (out / LOCK_FILE).read_bytes() == b""  # empty once no build runs


def test_the_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    out = tmp_path / "new" / "out"
    with locked(out):
        assert str(os.getpid()) in (out / LOCK_FILE).read_text()
        with pytest.raises(ConfigError, match=rf"found one running: process {os.getpid()} on"), locked(out):
            pass
    with locked(out):
        pass
    assert (out / LOCK_FILE).read_bytes() == b""


def test_an_out_under_a_file_is_one_line(data: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    proc = _build(data, tmp_path / "file" / "out")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert f"{tmp_path / 'file' / 'out'}: cannot create the folder (Not a directory)" in proc.stderr


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


@pytest.mark.slow
def test_a_full_disk_is_one_line_naming_the_file(data: Path, tmp_path: Path) -> None:
    """Files may not grow past 20 kB (RLIMIT_FSIZE): a shard write fails as on a full disk."""
    out = tmp_path / "out"
    proc = _build(data, out, "--samples-per-shard", "100", preexec_fn=_limit_file_size)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(lines) == 1 and "shard-0000.tar: cannot write (File too large)" in lines[0]
    assert not list(out.rglob("*.tmp"))


def test_atomic_output_keeps_the_old_file_when_the_block_fails(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_output(path) as fh:
        fh.write(b"new, half")
        raise RuntimeError("stop")
    assert path.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]
    with pytest.raises(OutputError, match=r"missing/f.bin: cannot create \(No such file or directory\)"), \
            atomic_output(tmp_path / "missing" / "f.bin"):
        pass


@pytest.mark.slow
def test_an_unknown_split_is_refused_naming_the_splits(data: Path, tmp_path: Path) -> None:
    for splits in ("tset", "train,validation"):
        proc = _build(data, tmp_path / splits, "--splits", splits)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert "--splits: expected split names of this celeba dataset (test, train, val)" in proc.stderr
        assert not list((tmp_path / splits).rglob("*.tar"))


@pytest.mark.slow
def test_sigterm_stops_cleanly_and_resume_finishes(tmp_path: Path) -> None:
    """SIGTERM mid-build: running shards finish, the pool stops in order (no leaked-semaphore
    warning), no temporary file is left, and --resume gives the bytes of an uninterrupted build."""
    data = write_celeba(tmp_path / "data", 60, seed=2)
    args = ("--crops", "10", "--samples-per-shard", "20")
    whole = tmp_path / "whole"
    assert _build(data, whole, *args).returncode == 0
    out = tmp_path / "out"
    cmd = [FLMPREP, "build", "--dataset", "celeba", "--root", str(data), "--out", str(out), "--crops", "10",
           "--samples-per-shard", "20", "--workers", "2", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out.glob("train/shard-*.json")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err  # 30 shards: the first is done long before the last
    assert "stopped by SIGTERM" in err and "Traceback" not in err and "leaked" not in err
    assert not list(out.rglob("*.tmp"))
    assert _build(data, out, "--resume", *args).returncode == 0
    assert _files(out) == _files(whole)


def _files(root: Path) -> dict[Path, bytes]:
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
