"""One exit-code table and one error style for every command.

A user never sees a traceback for a bad input: each error is one line on stderr,
``flmprep <command>: error: <where>: expected X, found Y``, and the exit status says what
happened. Every command goes through ``Guarded.main`` (the ``flmprep`` group, each of its
commands, and ``jobs/build_shards.py``), so the table below is applied in one place.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from flmprep.errors import FlmprepError

EXIT_OK = 0
#: The command ran and found problems (verify, inspect), or skipped some inputs (predict).
EXIT_PROBLEMS = 1
#: Usage or input errors that stop the command: bad options, missing or malformed input, a
#: refused or unwritable output folder, a bad record under --on-error fail.
EXIT_INPUT = 2
#: A build finished, but rejected/input records exceed --max-reject-ratio.
EXIT_TOO_MANY_REJECTS = 3
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

TABLE = (
    (EXIT_OK, "success"),
    (EXIT_PROBLEMS, "the command ran and found problems (verify, inspect) or skipped some inputs (predict)"),
    (EXIT_INPUT, "usage or input error: bad options, missing or malformed input, a refused or unwritable "
                 "output folder, a bad record under --on-error fail"),
    (EXIT_TOO_MANY_REJECTS, "build written, but rejected/input records exceed --max-reject-ratio"),
    (EXIT_INTERRUPTED, "stopped by Ctrl-C"),
    (EXIT_TERMINATED, "stopped by SIGTERM"),
)


def exit_table() -> str:
    """The table as text, for ``--help`` epilogs."""
    return "Exit status: " + "; ".join(f"{code} {what}" for code, what in TABLE) + "."


class Terminated(BaseException):
    """SIGTERM arrived: unwinds like Ctrl-C (``finally`` blocks run, partial files are removed)."""


def _terminated(signum: int, frame: object) -> None:
    raise Terminated()


def fail(prog: str, message: str, code: int = EXIT_INPUT) -> NoReturn:
    """Print ``prog: error: message`` (one line) and exit with ``code``."""
    click.echo(f"{prog}: error: {' '.join(message.split())}", err=True)
    sys.exit(code)


def os_error_line(exc: OSError) -> str:
    """``PATH: what the system said`` for an ``OSError`` (both paths for a rename)."""
    paths = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
    what = exc.strerror or str(exc) or type(exc).__name__
    return f"{paths}: {what}" if paths else what


def _usage_message(exc: click.ClickException) -> str:
    text = exc.format_message()
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        text += f" (see '{ctx.command_path} --help')"
    return text


def _prog(exc: BaseException, default: str) -> str:
    ctx = getattr(exc, "ctx", None)
    return str(ctx.command_path) if isinstance(ctx, click.Context) else default


class Guarded:
    """Mixin for click commands and groups: run ``main`` without click's standalone handling and
    map what escapes to the exit-code table, in the one-line style."""

    name: str | None

    def main(
        self, args: Sequence[str] | None = None, prog_name: str | None = None,
        complete_var: str | None = None, standalone_mode: bool = True, **extra: Any
    ) -> Any:
        previous = signal.signal(signal.SIGTERM, _terminated)
        prog = self._prog_name(args, prog_name)
        try:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)  # type: ignore[misc]
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:  # usage errors: click says 2; ClickException: 1 -> input error
            fail(_prog(exc, prog), _usage_message(exc), EXIT_INPUT)
        except FlmprepError as exc:
            fail(prog, str(exc), EXIT_INPUT)
        except OSError as exc:  # the file system refused something (a read-only folder, a full disk)
            fail(prog, os_error_line(exc), EXIT_INPUT)
        except (click.Abort, KeyboardInterrupt):
            fail(prog, "stopped by Ctrl-C", EXIT_INTERRUPTED)
        except Terminated:
            fail(prog, "stopped by SIGTERM", EXIT_TERMINATED)
        finally:
            signal.signal(signal.SIGTERM, previous)

    def _prog_name(self, args: Sequence[str] | None, prog_name: str | None) -> str:
        """The name errors are reported under: ``prog`` when set (the Spark job), ``flmprep
        <command>`` for the group (the first argument naming a command), else ``flmprep <name>``."""
        prog = getattr(self, "prog", None)
        if prog:
            return str(prog)
        if isinstance(self, click.Group):
            words = list(sys.argv[1:] if args is None else args)
            names = set(self.list_commands(click.Context(self)))
            sub = next((w for w in words if not w.startswith("-") and w in names), None)
            return f"flmprep {sub}" if sub else "flmprep"
        return f"flmprep {self.name}"


class GuardedCommand(Guarded, click.Command):
    """A command with the shared error handling (also when invoked on its own, e.g. in tests);
    ``prog`` names it in error lines when it is not a ``flmprep`` subcommand."""

    def __init__(self, *args: Any, prog: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prog = prog
