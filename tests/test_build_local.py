"""`flmprep build` end to end: byte-identical on 1 or 2 workers, SIGKILL + --resume, exit codes."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
import webdataset as wds

from tests.helpers.build_data import corrupt, write_celeba

pytestmark = pytest.mark.slow
FLMPREP = [str(Path(sys.executable).parent / "flmprep")]


def _build(root: Path, out: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [*FLMPREP, "build", "--dataset", "celeba", "--root", str(root), "--out", str(out), "--crops", "3",
           "--samples-per-shard", "4", "--no-progress", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def _verify(out: Path) -> None:
    """`flmprep verify`: sha256, counts, every sample against the schema and semantic checks."""
    proc = subprocess.run([*FLMPREP, "verify", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _tree(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_celeba(tmp_path_factory.mktemp("celeba"), 20, seed=3)


def test_one_or_two_workers_give_identical_bytes(data: Path, tmp_path: Path) -> None:
    one = _build(data, tmp_path / "w1", "--workers", "1")
    _build(data, tmp_path / "w2", "--workers", "2")
    a, b = _tree(tmp_path / "w1"), _tree(tmp_path / "w2")
    assert a == b
    assert "train/shard-0000.tar" in a and "manifest.json" in a and "rejects.jsonl" in a
    assert "README.md" in a and "train/shard-0000.idx" in a  # the card and the DALI index too
    manifest = json.loads(a["manifest.json"])
    assert manifest["schema"] == "flmprep.manifest/2" and set(manifest["versions"]) >= {"numpy", "opencv"}
    assert manifest["totals"] == {"input_records": 20, "written_records": 20, "rejected_records": 0,
                                  "samples": 12 * 3 + 4 + 4}
    assert [s["samples"] for s in manifest["splits"]["train"]["shards"]] == [4] * 9
    assert "split" in one.stdout and "input records 20 = written 20 + rejected 0" in one.stdout
    _verify(tmp_path / "w2")
    samples = list(wds.WebDataset(str(tmp_path / "w2" / "train" / "shard-0000.tar"), shardshuffle=False))
    keys = [s["__key__"] for s in samples]
    assert len(keys) == 4 and keys == sorted(keys) and all("." not in k for k in keys)
    assert all({"jpg", "json"} <= set(s) for s in samples)
    doc = json.loads(samples[0]["json"])
    assert doc["key"] == keys[0] and doc["source"]["record"] == keys[0].rsplit("_v", 1)[0]


def test_non_empty_out_is_refused_without_resume_or_overwrite(data: Path, tmp_path: Path) -> None:
    _build(data, tmp_path / "o", "--splits", "test")
    proc = _build(data, tmp_path / "o", "--splits", "test", check=False)
    assert proc.returncode == 2
    assert "expected an empty or new folder" in proc.stderr and "--overwrite" in proc.stderr
    before = _tree(tmp_path / "o")
    assert _build(data, tmp_path / "o", "--splits", "test", "--overwrite").returncode == 0
    assert _tree(tmp_path / "o") == before


def test_rejects_over_the_ratio_exit_3_after_writing_everything(tmp_path: Path) -> None:
    root = write_celeba(tmp_path / "data", 10, seed=4)
    corrupt(root, 2, "missing")
    lm = root / "Anno" / "list_landmarks_celeba.txt"
    lines = lm.read_bytes().split(b"\r\n")
    lines[4] = lines[4].replace(b" ", b" x", 1)  # record 000003: a non-integer coordinate
    lm.write_bytes(b"\r\n".join(lines))
    proc = _build(root, tmp_path / "out", check=False)
    assert proc.returncode == 3, proc.stderr
    assert "expected at most --max-reject-ratio" in proc.stderr
    rejects = [json.loads(line) for line in (tmp_path / "out" / "rejects.jsonl").read_text().splitlines()]
    assert {(r["key"], r["reason"]) for r in rejects} == {("celeba_000002_f0", "missing_image"),
                                                           ("celeba_000003_f0", "bad_annotation")}
    totals = json.loads((tmp_path / "out" / "manifest.json").read_text())["totals"]
    assert totals["input_records"] == 10 == totals["written_records"] + totals["rejected_records"]
    ok = _build(root, tmp_path / "out2", "--max-reject-ratio", "0.2")
    assert ok.returncode == 0
    fail = _build(root, tmp_path / "out3", "--on-error", "fail", check=False)
    assert fail.returncode == 2  # an input error (cli.errors)
    assert "celeba_000003_f0" in fail.stderr or "list_landmarks_celeba.txt: line 5" in fail.stderr


def test_sigkill_then_resume_is_byte_identical(tmp_path: Path) -> None:
    root = write_celeba(tmp_path / "data", 120, seed=5)
    extra = ["--image-format", "png", "--heatmaps", "--workers", "1"]
    ref = tmp_path / "ref"
    _build(root, ref, *extra)
    out = tmp_path / "out"
    cmd = [*FLMPREP, "build", "--dataset", "celeba", "--root", str(root), "--out", str(out), "--crops", "3",
           "--samples-per-shard", "4", "--no-progress", *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(out.glob("*/shard-0003.json")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists()
    done = sorted(out.glob("*/shard-*.tar"))
    total = len(list(ref.glob("*/shard-*.tar")))
    assert 0 < len(done) < total
    for tar in done:  # every shard-NNNN.tar that exists is complete: never a partial file
        assert tar.read_bytes() == (ref / tar.relative_to(out)).read_bytes()
        with tarfile.open(tar) as t:
            assert t.getnames()
    resumed = _build(root, out, *extra, "--resume")
    assert _tree(out) == _tree(ref)
    _verify(out)
    built = int(resumed.stdout.split(" shards built this run")[0].rsplit("\n", 1)[-1])
    assert built <= total - len(done) + 1


def test_finalize_removes_what_killed_attempts_left(data: Path, tmp_path: Path) -> None:
    """A shard temp file of a killed attempt is deleted before the manifest is written; other
    files are left alone, and the manifest is the one of a clean build."""
    from flmprep.builder import config, finalize, plan

    out = tmp_path / "out"
    _build(data, out, "--workers", "1")
    clean = _tree(out)
    cfg = config.from_options(dataset="celeba", root=str(data), out=str(out), crops=3, samples_per_shard=4,
                              resume=True)
    the_plan = plan.make_plan(cfg, [plan.run_probe(t) for t in plan.probe_tasks(cfg)])
    stale = out / "train" / "shard-0002.tar.4242-deadbeef.tmp"
    stale.write_bytes(b"half a shard")
    assert finalize.remove_stale_tmp(the_plan) == [stale]
    stale.write_bytes(b"half a shard")
    finalize.finalize(cfg, the_plan)
    assert not stale.exists()
    assert _tree(out) == clean


def test_stages_count_the_seconds_spent_building_shards(data: Path, tmp_path: Path) -> None:
    """`Stages.building` sums the shard tasks' own seconds: more than nothing, at most the shard
    stage's wall time on every worker, and nothing when --resume finds every shard done."""
    from flmprep.builder import config
    from flmprep.builder.local import run_local

    options = {"dataset": "celeba", "root": str(data), "out": str(tmp_path / "out"), "crops": 3,
               "samples_per_shard": 4}
    run = run_local(config.from_options(**options), 2, show_progress=False)
    assert run.built == 11
    assert 0 < run.stages.building <= 2 * run.stages.shards
    assert f"(building {run.stages.building:.2f} core-s)" in str(run.stages)
    again = run_local(config.from_options(**options, resume=True), 2, show_progress=False)
    assert again.built == 0 and again.stages.building == 0


def test_the_driver_probes_until_the_engine_is_up_and_the_engine_probes_the_rest(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """With an engine that lets the driver probe (Spark in local mode), the driver's thread probes
    task by task while the engine starts; here the engine is up after the driver's second task,
    so it probes the 18 others, and the output is byte-identical to the pool's own."""
    from flmprep.builder import config, driver
    from flmprep.builder import plan as planner
    from flmprep.builder.local import LocalEngine, run_local

    second_task, engine_up = threading.Event(), threading.Event()
    original = planner.run_probe

    def probe(task: planner.ProbeTask) -> list[planner.ProbeResult]:
        result = original(task)
        if task.index == 1:  # the driver's second task: hold it until the engine is up
            second_task.set()
            assert engine_up.wait(60)
        return result

    class Reader(driver._Reader):
        def collect(self) -> tuple[list[planner.ProbeTask], list[list[planner.ProbeResult]]]:
            self._engine_up.set()
            engine_up.set()
            return super().collect()

    class SlowStart(LocalEngine):
        mapped: tuple[int, ...] = ()

        def start(self) -> None:
            super().start()
            assert second_task.wait(60)

        def probes_in_driver(self, records: int) -> bool:
            return True

        def map_probes(self, tasks: Sequence[planner.ProbeTask]) -> list[list[planner.ProbeResult]]:
            self.mapped = tuple(t.index for t in tasks)
            monkeypatch.undo()  # the pool pickles run_probe by name
            return super().map_probes(tasks)

    def cfg(out: str) -> config.BuildConfig:
        return config.from_options(dataset="celeba", root=str(data), out=str(tmp_path / out), crops=3,
                                   samples_per_shard=4, probe_chunk=1)

    monkeypatch.setattr(planner, "run_probe", probe)
    monkeypatch.setattr(driver, "_Reader", Reader)
    engine = SlowStart(2)
    with caplog.at_level(logging.INFO, logger="flmprep.builder.driver"):
        driver.run_build(cfg("hybrid"), engine, show_progress=False)
    assert engine.mapped == tuple(range(2, 20))
    assert "probed 2 of 20 records in the driver while a pool of 2 processes started" in caplog.text
    run_local(cfg("pool"), 2, show_progress=False)
    assert _tree(tmp_path / "hybrid") == _tree(tmp_path / "pool")
