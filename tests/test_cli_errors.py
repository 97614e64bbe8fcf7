"""One exit-code table and one error style for every command: `flmprep <command>: error: …` on
one line of stderr, no traceback, and the same code for the same kind of mistake everywhere."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from flmprep.cli import main
from flmprep.cli.errors import EXIT_INPUT, TABLE

FLMPREP = str(Path(sys.executable).parent / "flmprep")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLMPREP, *args], capture_output=True, text=True, timeout=120)


def _one_error_line(proc: subprocess.CompletedProcess[str], prog: str) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in lines if line.startswith(f"{prog}: error: ")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


@pytest.fixture(scope="module")
def celeba(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data") / "celeba"
    assert _run("synth", "celeba", str(root), "--n", "3").returncode == 0
    return root


def test_a_non_empty_output_is_the_same_error_for_synth_and_build(celeba: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    synth = _run("synth", "celeba", str(out), "--n", "3")
    build = _run("build", "--dataset", "celeba", "--root", str(celeba), "--out", str(out), "--no-progress")
    assert synth.returncode == build.returncode == EXIT_INPUT
    assert str(out) in _one_error_line(synth, "flmprep synth")
    assert "expected an empty or new folder" in _one_error_line(build, "flmprep build")
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(("args", "prog", "expected"), [
    (("build", "--dataset", "celeba", "--root", ".", "--out", "o", "--quality", "0"), "flmprep build",
     "Invalid value for '--quality'"),
    (("scan", "celeba", "/nonexistent"), "flmprep scan", "'/nonexistent' does not exist"),
    (("inspect", "/nonexistent.tar"), "flmprep inspect", "/nonexistent.tar"),
    (("verify", "/nonexistent"), "flmprep verify", "/nonexistent/manifest.json: expected a manifest"),
    (("nosuchcommand",), "flmprep", "No such command 'nosuchcommand'"),
])
def test_usage_and_input_errors_exit_2_in_one_line(args: tuple[str, ...], prog: str, expected: str) -> None:
    proc = _run(*args)
    assert proc.returncode == EXIT_INPUT, proc.stderr
    line = _one_error_line(proc, prog)
    assert expected in line, line


def test_help_states_the_table() -> None:
    text = "".join(CliRunner().invoke(main, ["--help"], terminal_width=1000).output.split())
    for code, what in TABLE:
        assert f"{code}{what}".replace(" ", "") in text


def test_the_failure_model_page_states_the_same_table() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "failure-model.md").read_text("utf-8")
    rows = dict(re.findall(r"^\| (\d+) \| (.+) \|$", page, re.MULTILINE))
    assert sorted(int(code) for code in rows) == sorted(code for code, _ in TABLE)
    for code, what in TABLE:  # the page may say more, never something else
        words = set(re.findall(r"[a-z]+", what.lower())) - {"the", "a", "or", "by", "some", "but"}
        found = set(re.findall(r"[a-z]+", rows[str(code)].lower()))
        assert words <= found | {"rejected", "input", "records"}, (code, words - found)
