"""Generate every command output shown in README.md and docs/*.md from the current code.

A page marks a generated block with an HTML comment (invisible on the rendered page) that
names the commands, then the generated fence, then an end marker:

    <!-- docs-output
    setup: flmprep synth celeba src --n 8 --seed 0
    $ flmprep scan celeba src
    -->
    ```text
    $ flmprep scan celeba src
    ... what the command printed ...
    ```
    <!-- end docs-output -->

Lines of the comment:

- ``setup: CMD``: run before the block, not shown; a setup command runs once per page
  (blocks that need the same data name the same setup line).
- ``$ CMD``: shown and run; stdout and stderr are shown together, as a terminal shows them.
- ``> CMD`` right after a ``$`` line: run CMD in place of the shown one (``make demo``).
- ``exit: N`` right after a ``$`` line: the exit status the command must give (default 0);
  a non-zero status is shown as ``[exit status N]``.
- ``figures: approximate``: the block shows what a trained model computes (losses, NME,
  landmarks). Float kernels differ between CPUs, so those figures differ in their last digits
  from one machine to the next: ``--check`` compares such a block with its decimal numbers
  masked (every integer, word and line must still match); a rewrite takes the new figures.

A ``<!-- docs-run ... -->`` comment (with optional ``setup:`` lines) marks the fenced block
right after it as code that must succeed: a ``bash`` fence runs as one script (``set -e``),
a ``python`` fence through ``python -``; it is run, not rewritten.

The commands of a page run in order in one scratch folder of that page (synthetic data made
by the setup lines), with the repository's ``jobs/`` and ``scripts/`` linked into it.
Run-to-run noise is normalised: progress bars keep only their final state, rates and
durations become ``…``, log timestamps are dropped and the scratch path is cut, so the output
depends only on the code (and on the library versions that make the bytes).

    python scripts/docs_outputs.py            # rewrite the pages (make docs-outputs)
    python scripts/docs_outputs.py --check    # exit 1 when a committed page differs (make test)
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAGES = ("README.md", "docs/*.md")
#: Commands documented before they are merged; blocks using them are left as they are
#: (with a warning) while the command is not registered. Empty this set once they exist.
PENDING_COMMANDS: frozenset[str] = frozenset()
COMMAND_TIMEOUT_S = 300

# Markers count only at the start of a line (an indented one, in an example, does not).
BLOCK = re.compile(
    r"^<!-- docs-output\n(?P<spec>.*?)^-->\n(?P<body>.*?)^<!-- end docs-output -->$", re.DOTALL | re.MULTILINE
)
RUN_BLOCK = re.compile(
    r"^<!-- docs-run\n?(?P<spec>.*?)-->\n```(?P<lang>[a-z]*)\n(?P<script>.*?)^```$", re.DOTALL | re.MULTILINE
)
PROGRESS_BAR = re.compile(r"[\w-]+: +\d+%\|[^|\n\r]*\| *\d+/\d+ \[[^\]\n\r]*\]")
LOG_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", re.MULTILINE)
RATE = re.compile(r"\b\d[\d,]*(?:\.\d+)? ?(samples|images|records|shards?|it)/s\b")
INVERSE_RATE = re.compile(r"\b\d[\d,]*(?:\.\d+)?s/(shard|it)\b")
ELAPSED = re.compile(r"\b\d\d:\d\d(?::\d\d)?<(?:\d\d:\d\d(?::\d\d)?|\?)")
DURATION = re.compile(r"\b\d+(?:\.\d+)? (m?s|core-s)\b")
JSON_SECONDS = re.compile(r'"seconds": \d+(?:\.\d+)?(?:[eE]-?\d+)?')
APPROXIMATE = "figures: approximate"
DECIMAL = re.compile(r"-?\d+\.\d+(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Command:
    """One shown command: what the page prints, what runs, and the exit status it must give."""

    shown: str
    run: str
    exit: int = 0


@dataclass(frozen=True)
class Block:
    """A generated block of a page: its setup lines, commands and place in the text."""

    setup: tuple[str, ...]
    commands: tuple[Command, ...]
    body_start: int
    body_end: int
    line: int
    approximate: bool = False


@dataclass(frozen=True)
class Outcome:
    """What one page became: its new text and the problems met on the way."""

    text: str
    problems: tuple[str, ...]
    skipped: int


def parse_spec(spec: str, where: str) -> tuple[tuple[str, ...], tuple[Command, ...]]:
    """Split a marker comment into its setup lines and its shown commands."""
    setup: list[str] = []
    commands: list[Command] = []
    for raw in spec.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("setup:"):
            setup.append(line.removeprefix("setup:").strip())
        elif line.startswith("$ "):
            shown = line[2:].strip()
            commands.append(Command(shown, shown))
        elif line.startswith(">") and commands:
            last = commands.pop()
            commands.append(Command(last.shown, line[1:].strip(), last.exit))
        elif line.startswith("exit:") and commands:
            last = commands.pop()
            commands.append(Command(last.shown, last.run, int(line.removeprefix("exit:"))))
        else:
            raise ValueError(f"{where}: expected 'setup:', '$ ', '> ' or 'exit:' lines, found {line!r}")
    return tuple(setup), tuple(commands)


def parse_blocks(text: str, where: str) -> list[Block]:
    """Every docs-output block of a page, in order."""
    blocks = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        spec = match.group("spec").splitlines()
        approximate = APPROXIMATE in (s.strip() for s in spec)
        spec = [s for s in spec if s.strip() != APPROXIMATE]
        setup, commands = parse_spec("\n".join(spec), f"{where}:{line}")
        if not commands:
            raise ValueError(f"{where}:{line}: expected at least one '$ ' command, found none")
        blocks.append(Block(setup, commands, match.start("body"), match.end("body"), line, approximate))
    return blocks


def same_figures(old: str, new: str) -> bool:
    """Whether two bodies of a ``figures: approximate`` block agree but for decimal numbers."""
    return DECIMAL.sub("#", old) == DECIMAL.sub("#", new)


def normalise(raw: str, scratch: Path) -> str:
    """Remove what changes from run to run: progress redraws, rates, durations, paths, timestamps."""
    text = raw.replace("\r\n", "\n")
    bars = list(PROGRESS_BAR.finditer(text))
    if bars:
        last = bars[-1]
        head = PROGRESS_BAR.sub("", text[: last.start()])
        text = head + "\x00" + last.group(0) + "\x00" + text[last.end() :]
    lines = []
    for line in text.split("\n"):
        if "\x00" in line:
            before, bar, after = line.split("\x00")
            for part in (before, bar, after):
                part = part.replace("\r", "")
                if part.strip():
                    lines.append(part)
            continue
        if "\r" in line:
            line = line.replace("\r", "")
            if not line.strip():
                continue
        lines.append(line)
    text = "\n".join(lines)
    text = LOG_TIMESTAMP.sub("", text)
    for root in {str(scratch), os.path.realpath(scratch)}:
        text = text.replace(root + "/", "").replace(root, ".")
    text = text.replace(str(REPO) + "/", "")
    text = ELAPSED.sub("00:00<00:00", text)
    text = INVERSE_RATE.sub(lambda m: f"…{m.group(1)}/s", text)
    text = RATE.sub(lambda m: f"… {m.group(1)}/s", text)
    text = DURATION.sub(lambda m: f"… {m.group(1)}", text)
    text = JSON_SECONDS.sub('"seconds": …', text)
    text = re.sub(r", +…", ", …", text)  # progress bars pad their rates
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def command_name(command: str) -> str | None:
    """The flmprep subcommand a shell line runs, if it runs one."""
    match = re.match(r"\s*(?:[A-Z_]+=\S+\s+)*flmprep\s+(?:-\S+\s+)*([a-z-]+)", command)
    return match.group(1) if match else None


def registered_commands() -> frozenset[str]:
    """The subcommands the installed flmprep has."""
    from flmprep.cli import COMMANDS

    return frozenset(COMMANDS)


@dataclass
class Session:
    """The scratch folder of one page, in which its blocks' commands run in page order."""

    scratch: Path
    env: dict[str, str]
    done: set[str] = field(default_factory=set)
    available: frozenset[str] = field(default_factory=registered_commands)

    @classmethod
    def start(cls, scratch: Path, available: frozenset[str] | None = None) -> Session:
        for name in ("jobs", "scripts"):
            link = scratch / name
            if not link.exists():
                link.symlink_to(REPO / name)
        bin_dir = str(Path(sys.executable).parent)
        env = {
            **os.environ,
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "REPO": str(REPO),
            "COLUMNS": "80",
            "TERM": "dumb",
            "LC_ALL": "C.UTF-8",
            "OMP_NUM_THREADS": "1",  # torch's float sums depend on the thread count
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_CONF_DIR": str(REPO / "jobs" / "spark-conf"),
        }
        env.pop("VIRTUAL_ENV_PROMPT", None)
        return cls(scratch, env, available=registered_commands() if available is None else available)

    def pending(self, command: str) -> bool:
        name = command_name(command)
        return name in PENDING_COMMANDS and name not in self.available

    def run(self, command: str) -> tuple[int, str]:
        """Run one shell line in the scratch folder; its exit status and normalised output."""
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=self.scratch,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
        return done.returncode, normalise(done.stdout.decode("utf-8", "replace"), self.scratch)

    def setup(self, commands: Iterable[str], where: str) -> str | None:
        """Run the setup lines not run yet; a problem line, or None."""
        for command in commands:
            if command in self.done:
                continue
            status, output = self.run(command)
            if status != 0:
                return f"{where}: setup {command!r} exited {status}:\n{output}"
            self.done.add(command)
        return None


def render_block(block: Block, session: Session, where: str) -> tuple[str | None, list[str]]:
    """The fenced body of a block (None when it uses a pending command), and its problems."""
    if any(session.pending(c.run) for c in block.commands) or any(session.pending(c) for c in block.setup):
        return None, []
    problem = session.setup(block.setup, where)
    if problem:
        return None, [problem]
    parts, problems = [], []
    for command in block.commands:
        status, output = session.run(command.run)
        shown = f"$ {command.shown}" + (f"\n{output}" if output else "")
        if status != 0:
            shown += f"\n[exit status {status}]"
        if status != command.exit:
            problems.append(f"{where}: {command.shown!r} exited {status}, expected {command.exit}:\n{output}")
        parts.append(shown)
    return "```text\n" + "\n\n".join(parts) + "\n```\n", problems


def run_blocks(text: str, session: Session, where: str) -> list[str]:
    """Run every docs-run block of a page; the problems (a failing command) found."""
    problems = []
    for match in RUN_BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        setup, _ = parse_spec(match.group("spec"), f"{where}:{line}")
        problem = session.setup(setup, f"{where}:{line}")
        if problem:
            problems.append(problem)
            continue
        if match.group("lang") == "python":
            command = f"python - <<'DOCS_EOF'\n{match.group('script')}DOCS_EOF"
        else:
            lines = (raw for raw in match.group("script").splitlines() if not session.pending(raw))
            command = "set -euo pipefail\n" + "\n".join(lines)
        status, output = session.run(command)
        if status != 0:
            problems.append(f"{where}:{line}: commands exited {status}:\n{output}")
    return problems


def update_page(text: str, session: Session, where: str, write: bool = True) -> Outcome:
    """The page with every docs-output block regenerated, and the problems met. Checking
    (``write`` false), an approximate block whose figures alone moved counts as current."""
    pieces, problems, skipped, cursor = [], [], 0, 0
    for block in parse_blocks(text, where):
        body, block_problems = render_block(block, session, f"{where}:{block.line}")
        problems.extend(block_problems)
        pieces.append(text[cursor : block.body_start])
        old = text[block.body_start : block.body_end]
        if body is None:
            skipped += 1
            body = old
        elif block.approximate and not write and same_figures(old, body):
            body = old
        pieces.append(body)
        cursor = block.body_end
    pieces.append(text[cursor:])
    problems.extend(run_blocks(text, session, where))
    return Outcome("".join(pieces), tuple(problems), skipped)


def check_command_table(readme: str, available: frozenset[str]) -> list[str]:
    """README's command table must list every registered command and no other."""
    listed = set(re.findall(r"^\| `flmprep ([a-z-]+)", readme, re.MULTILINE))
    problems = []
    missing = sorted(available - listed)
    extra = sorted(listed - available - PENDING_COMMANDS)
    if missing:
        problems.append(f"README.md: command table: expected rows for {', '.join(missing)}, found none")
    if extra:
        problems.append(f"README.md: command table: lists {', '.join(extra)}, which flmprep does not have")
    return problems


def page_paths(patterns: Sequence[str] = PAGES) -> list[Path]:
    paths: list[Path] = []
    for pattern in patterns:
        paths.extend(sorted(REPO.glob(pattern)))
    return paths


def process_page(path: Path, folder: Path, available: frozenset[str], write: bool) -> tuple[list[str], bool]:
    """Regenerate one page in its scratch ``folder``; (problems, whether it was stale)."""
    where = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
    folder.mkdir(parents=True)
    text = path.read_text(encoding="utf-8")
    started = time.monotonic()
    outcome = update_page(text, Session.start(folder, available), where, write)
    print(f"{where}: {time.monotonic() - started:.1f} s", file=sys.stderr)
    if outcome.skipped:
        print(f"{where}: {outcome.skipped} block(s) left as they are (pending command)", file=sys.stderr)
    stale = outcome.text != text
    if stale and write:
        path.write_text(outcome.text, encoding="utf-8")
    elif stale:
        old, new = text.splitlines(keepends=True), outcome.text.splitlines(keepends=True)
        sys.stderr.writelines(difflib.unified_diff(old, new, where, f"{where} (generated)"))
    return list(outcome.problems), stale


def process(paths: Sequence[Path], scratch: Path, write: bool) -> tuple[list[str], list[str]]:
    """Regenerate the pages, each in its own folder under ``scratch``; (problems, stale pages).
    With write, stale pages are rewritten."""
    problems: list[str] = []
    stale: list[str] = []
    available = registered_commands()
    for number, path in enumerate(paths):
        folder = scratch / f"{number:02d}-{path.stem}"
        page_problems, page_stale = process_page(path, folder, available, write)
        problems.extend(page_problems)
        if page_stale:
            stale.append(path.name if not path.is_relative_to(REPO) else str(path.relative_to(REPO)))
    return problems, stale


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when a page differs from its output")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and print its path")
    parser.add_argument("pages", nargs="*", type=Path, help="pages (default: README.md, docs/*.md)")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.pages] or page_paths()
    scratch = Path(tempfile.mkdtemp(prefix="flmprep-docs-"))
    try:
        problems, stale = process(paths, scratch, write=not args.check)
        if not args.pages:
            readme = (REPO / "README.md").read_text(encoding="utf-8")
            problems += check_command_table(readme, registered_commands())
    finally:
        if args.keep:
            print(f"scratch folder kept: {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    for problem in problems:
        print(f"docs_outputs: error: {problem}", file=sys.stderr)
    if args.check and stale:
        print(f"docs_outputs: {len(stale)} page(s) differ from the code's output: {', '.join(stale)}; "
              "run `make docs-outputs`", file=sys.stderr)
    elif stale:
        print(f"docs_outputs: rewrote {', '.join(stale)}", file=sys.stderr)
    return 1 if problems or (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
