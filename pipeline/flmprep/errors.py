"""Exceptions with a location and an "expected X, found Y" message."""

from __future__ import annotations


class FlmprepError(Exception):
    """Base class of every error flmprep raises on purpose."""


#: The most characters of one value (a found token, an element description) a message quotes.
QUOTE_LIMIT = 200


def quoted(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` fit for a one-line message: control characters, line breaks and undecodable bytes
    escaped, and anything past ``limit`` characters cut with the total length noted."""
    safe = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    if len(safe) <= limit:
        return safe
    return f"{safe[: limit - 20]}… ({len(text)} characters)"


class AnnotationError(FlmprepError):
    """A malformed annotation: names the file, the line (or XML element), what was expected and found.

    ``reason`` is the stable reject code used when the build runs with ``--on-error skip``.
    The message quotes the path, the place, what was expected (which may name a value from the
    input) and the found value through ``quoted``: one line, bounded, whatever the input held.
    """

    def __init__(
        self,
        path: str,
        where: int | str,
        expected: str,
        found: str,
        reason: str = "bad_annotation",
        key: str = "",
    ) -> None:
        self.path = str(path)
        self.where = where
        self.expected = expected
        self.found = found
        self.reason = reason
        self.key = key
        loc = f"line {where}" if isinstance(where, int) else quoted(str(where), 2 * QUOTE_LIMIT)
        path_text = quoted(self.path, 4 * QUOTE_LIMIT)
        wanted = quoted(expected, 2 * QUOTE_LIMIT)
        super().__init__(f"{path_text}: {loc}: expected {wanted}, found {quoted(found)}")

    def __reduce__(self) -> tuple[type[AnnotationError], tuple[str, int | str, str, str, str, str]]:
        """Pickle by constructor arguments, so the error crosses process and Spark boundaries."""
        return (type(self), (self.path, self.where, self.expected, self.found, self.reason, self.key))

    @property
    def origin(self) -> str:
        return f"{self.path}:{self.where}"


class FlipUnsupportedError(FlmprepError):
    """A horizontal flip was asked of a scheme that has no known flip permutation."""


class ConfigError(FlmprepError):
    """A configuration value is out of range or inconsistent."""


class OutputError(FlmprepError):
    """Writing the output failed (permissions, a full disk, a read-only folder): names the path
    and the operation, never a traceback."""

    def __init__(self, path: str, operation: str, reason: str) -> None:
        self.path, self.operation, self.reason = str(path), operation, reason
        super().__init__(f"{self.path}: cannot {operation} ({reason})")

    def __reduce__(self) -> tuple[type[OutputError], tuple[str, str, str]]:
        return (type(self), (self.path, self.operation, self.reason))

    @classmethod
    def of(cls, path: object, operation: str, exc: OSError) -> OutputError:
        return cls(str(path), operation, exc.strerror or str(exc))
