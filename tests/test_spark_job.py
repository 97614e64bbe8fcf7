"""The job's command line and the cluster harness's helpers, without starting a JVM (fast)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import click
import pytest

from flmprep.builder.config import build_options
from tests.helpers.spark import JOB, free_port, java_home, spark_home, tree_files


def run_job(*args: str) -> subprocess.CompletedProcess[str]:
    """`python jobs/build_shards.py ARGS`: parses options without spark-submit (no JVM before the plan)."""
    return subprocess.run([sys.executable, str(JOB), *args], capture_output=True, text=True, timeout=120,
                          check=False)


def build_option_flags() -> set[str]:
    @click.command()
    @build_options
    def probe(**_: object) -> None:
        """Collects the shared build options."""

    return {opt for param in probe.params for opt in param.opts if opt.startswith("--")}


def test_help_documents_every_build_option_and_the_spark_ones() -> None:
    result = run_job("--help")
    assert result.returncode == 0, result.stderr
    flags = build_option_flags() | {"--master", "--spark-conf", "--shards-per-task"}
    missing = sorted(f for f in flags if f not in result.stdout)
    assert missing == []
    assert "local[*]" in result.stdout


def test_bad_spark_conf_is_a_usage_error(tmp_path: Path) -> None:
    result = run_job("--dataset", "celeba", "--root", str(tmp_path), "--out", str(tmp_path / "o"),
                     "--spark-conf", "spark.executor.memory")
    assert result.returncode == 2
    assert "expected KEY=VALUE, found 'spark.executor.memory'" in result.stderr


def test_non_empty_out_is_refused_before_spark_starts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine", "utf-8")
    result = run_job("--dataset", "celeba", "--root", str(tmp_path), "--out", str(out))
    assert result.returncode == 2
    assert "expected an empty or new folder" in result.stderr
    assert "Spark context up" not in result.stdout + result.stderr
    assert (out / "keep.txt").read_text("utf-8") == "mine"


def test_spark_home_holds_spark_class() -> None:
    assert (spark_home() / "bin" / "spark-class").is_file()
    assert any((spark_home() / "jars").glob("spark-core_*.jar"))


def test_java_home_holds_java(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))  # no bin/java there: fall back to PATH
    home = java_home()
    if home is None:
        pytest.skip("no java on PATH")
    assert (home / "bin" / "java").is_file()


def test_free_port_binds() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_tree_files_lists_nested_files(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "a.tar").write_bytes(b"x")
    (tmp_path / "manifest.json").write_bytes(b"{}")
    assert tree_files(tmp_path) == {"manifest.json": b"{}", "train/a.tar": b"x"}
