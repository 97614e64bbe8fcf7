"""scripts/docs_outputs.py: generated blocks are rewritten from what the commands print, and the
check mode fails on a stale page, a wrong exit status or a failing docs-run block."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "docs_outputs.py"


@pytest.fixture(scope="module")
def docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_outputs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["docs_outputs"] = module
    spec.loader.exec_module(module)
    return module


def page(tmp_path: Path, spec: str, body: str) -> Path:
    path = tmp_path / "page.md"
    path.write_text(f"# A page\n\n<!-- docs-output\n{spec}-->\n{body}<!-- end docs-output -->\n\nThe end.\n")
    return path


HELLO = """setup: printf 'hello from setup\\n' > greeting.txt
$ cat greeting.txt
"""
FRESH = "```text\n$ cat greeting.txt\nhello from setup\n```\n"


def test_a_stale_block_fails_the_check_and_is_rewritten(docs: ModuleType, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = page(tmp_path, HELLO, "```text\n$ cat greeting.txt\nwhat the page said last year\n```\n")
    stale = path.read_text()
    assert docs.main(["--check", str(path)]) == 1
    assert path.read_text() == stale, "the check must not write"
    assert "differ from the code's output" in capsys.readouterr().err
    assert docs.main([str(path)]) == 0
    assert path.read_text() == stale.replace(
        "```text\n$ cat greeting.txt\nwhat the page said last year\n```\n", FRESH)
    assert docs.main(["--check", str(path)]) == 0


def test_an_unexpected_exit_status_is_a_problem_and_an_expected_one_is_shown(
        docs: ModuleType, tmp_path: Path) -> None:
    failing = page(tmp_path, "$ echo oops; exit 3\n", "```text\n```\n")
    assert docs.main([str(failing)]) == 1
    expected = page(tmp_path, "$ echo oops; exit 3\nexit: 3\n", "```text\n```\n")
    assert docs.main([str(expected)]) == 0
    assert "```text\n$ echo oops; exit 3\noops\n[exit status 3]\n```\n" in expected.read_text()


def test_a_failing_docs_run_block_is_a_problem(docs: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "run.md"
    path.write_text("<!-- docs-run -->\n```bash\ntrue\nfalse\necho never\n```\n")
    assert docs.main(["--check", str(path)]) == 1
    path.write_text("<!-- docs-run -->\n```python\nassert 1 + 1 == 2\n```\n")
    assert docs.main(["--check", str(path)]) == 0


def test_an_indented_marker_is_an_example_not_a_block(docs: ModuleType) -> None:
    text = "  ```\n  <!-- docs-output\n  $ false\n  -->\n  ```\n"
    assert docs.parse_blocks(text, "page.md") == []


def test_progress_redraws_rates_durations_and_paths_are_normalised(docs: ModuleType, tmp_path: Path) -> None:
    raw = (
        "build:   0%|          | 0/6 [00:00<?, ?shard/s]2026-12-04 03:14:25,385 INFO job: started\n"
        "build:  17%|█▋        | 1/6 [00:01<00:08,  1.71s/shard, 1,896 samples/s, 0 rejects]"
        "build: 100%|██████████| 6/6 [00:01<00:00,  3.51shard/s, 1,896 samples/s, 0 rejects]\n"
        f"INFO job: wrote {tmp_path}/out/manifest.json\n"
        "INFO job: stages: start-up 1.26 s, shards 0.71 s (building 1.30 core-s)\n"
        "6 shards built this run with 2 workers, 2,589 samples/s   \n"
    )
    assert docs.normalise(raw, tmp_path).split("\n") == [
        "INFO job: started",
        "build: 100%|██████████| 6/6 [00:00<00:00, … shard/s, … samples/s, 0 rejects]",
        "INFO job: wrote out/manifest.json",
        "INFO job: stages: start-up … s, shards … s (building … core-s)",
        "6 shards built this run with 2 workers, … samples/s",
    ]


def test_a_block_using_a_pending_command_is_left_as_it_is(
    docs: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(docs, "PENDING_COMMANDS", frozenset({"sketch"}))
    session = docs.Session.start(tmp_path, frozenset())
    text = ("<!-- docs-output\n$ flmprep sketch x.jpg --checkpoint c.pt\n-->\n"
            "as written\n<!-- end docs-output -->\n")
    outcome = docs.update_page(text, session, "page.md")
    assert (outcome.text, outcome.problems, outcome.skipped) == (text, (), 1)


def test_the_command_table_must_match_the_registered_commands(docs: ModuleType) -> None:
    table = "| `flmprep scan DATASET ROOT` | … |\n| `flmprep sing` | … |\n"
    problems = docs.check_command_table(table, frozenset({"scan", "build"}))
    assert problems == [
        "README.md: command table: expected rows for build, found none",
        "README.md: command table: lists sing, which flmprep does not have",
    ]


def test_an_approximate_block_is_current_when_only_its_figures_moved(
    docs: ModuleType, tmp_path: Path
) -> None:
    session = docs.Session.start(tmp_path, frozenset())
    spec = "<!-- docs-output\nfigures: approximate\n$ echo 'NME 0.4061 steps 9'\n-->\n"
    moved = spec + "```text\n$ echo 'NME 0.4061 steps 9'\nNME 0.4060 steps 9\n```\n<!-- end docs-output -->\n"
    assert docs.update_page(moved, session, "page.md", write=False).text == moved
    assert "NME 0.4061" in docs.update_page(moved, session, "page.md", write=True).text
    recount = moved.replace("steps 9\n```", "steps 8\n```")
    assert "steps 9\n```" in docs.update_page(recount, session, "page.md", write=False).text
    exact = moved.replace("figures: approximate\n", "")
    checked = docs.update_page(exact, session, "page.md", write=False).text
    assert "NME 0.4061 steps 9\n```" in checked
