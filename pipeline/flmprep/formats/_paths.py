"""The dataset root as readers see it: every path a reader touches goes through ``PathGuard``.

Image paths named by an annotation, annotation files a reader opens and folders it walks must
all resolve inside the root. A symlink that leads out of the root is refused with one line that
names the link (never what it points to, never a byte of the target), and a walk does not
follow symlinked folders at all.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flmprep.errors import AnnotationError

logger = logging.getLogger(__name__)

_DRIVE = re.compile(r"[A-Za-z]:")
_SURROGATE = re.compile("[\ud800-\udfff]")
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class WalkedFolder:
    """One folder of a walk: its path relative to the root (POSIX, "" for the root itself), its
    components, its file names (sorted; symlinks to files included, to be checked on open) and
    its subfolder names (sorted; symlinked ones left out)."""

    rel: str
    parts: tuple[str, ...]
    files: tuple[str, ...]
    dirs: tuple[str, ...] = ()


class PathGuard:
    """Keeps a reader inside its dataset root.

    ``check`` turns an annotation's image path into a normalised POSIX path relative to the
    root; ``open`` opens an annotation file; ``folder`` checks a folder a reader lists; ``walk``
    lists a tree without following symlinked folders. Directory symlinks met by image paths are
    resolved once per directory.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self._links: dict[str, frozenset[str]] = {}

    # --- annotation files and folders ---------------------------------------------------------

    def open(self, path: Path, max_bytes: int | None = None) -> BinaryIO:
        """``path`` opened for binary reading after checking that it resolves inside the root, is
        a regular file and (with ``max_bytes``) is not larger than that."""
        self._check_within(path, "an annotation file", "file")
        try:
            info = os.stat(path)
        except FileNotFoundError:
            found = "a dangling symlink" if os.path.islink(path) else "nothing there"
            raise AnnotationError(str(path), "file", "an existing annotation file", found) from None
        except OSError as exc:
            raise AnnotationError(str(path), "file", "a readable annotation file", _reason(exc)) from None
        kind = next((name for test, name in _KINDS if test(info.st_mode)), None)
        if kind is not None or not stat.S_ISREG(info.st_mode):
            raise AnnotationError(str(path), "file", "a regular annotation file", kind or "a special file")
        if max_bytes is not None and info.st_size > max_bytes:
            raise AnnotationError(
                str(path), "file", f"an annotation file of at most {max_bytes} bytes", f"{info.st_size} bytes"
            )
        try:
            return open(path, "rb")
        except OSError as exc:
            raise AnnotationError(str(path), "file", "a readable annotation file", _reason(exc)) from None

    def exists(self, path: Path) -> bool:
        """Whether anything (a file, a folder, a symlink, even a dangling one) is at ``path``: a
        reader that finds something there opens it and so reports what is wrong with it."""
        return os.path.lexists(path)

    def folder(self, path: Path, what: str) -> Path:
        """``path`` if it is a folder inside the root, else an AnnotationError naming it."""
        self._check_within(path, what, "dataset root")
        if not path.is_dir():
            found = "a file" if path.exists() else "no such folder"
            raise AnnotationError(str(path), "dataset root", what, found)
        return path

    def walk(self, top: Path, on_link: Callable[[str], None]) -> Iterator[WalkedFolder]:
        """Every folder below ``top`` in sorted order. Symlinked folders are not entered (each is
        passed to ``on_link`` as a path relative to the root); an unreadable folder raises."""
        self.folder(top, "a dataset folder")

        def unreadable(exc: OSError) -> None:
            where = exc.filename if exc.filename is not None else top
            raise AnnotationError(str(where), "folder", "a readable folder", _reason(exc))

        for folder, dirs, files in os.walk(top, onerror=unreadable):
            rel = Path(os.path.relpath(folder, self.root)).as_posix()
            rel = "" if rel == "." else rel
            for name in sorted(dirs):
                if os.path.islink(os.path.join(folder, name)):
                    dirs.remove(name)
                    on_link(f"{rel}/{name}" if rel else name)
            dirs.sort()
            parts = tuple(rel.split("/")) if rel else ()
            yield WalkedFolder(rel, parts, tuple(sorted(files)), tuple(dirs))

    def _check_within(self, path: Path, what: str, where: str) -> None:
        if not _inside(os.path.realpath(path), self.real_root):
            raise AnnotationError(
                str(path),
                where,
                f"{what} inside the dataset root",
                "a symlink that resolves outside it",
                reason="path_outside_root",
            )

    # --- image paths named by annotations -----------------------------------------------------

    def check(self, rel: str, path: Path | str, where: int | str, base: str = "") -> str:
        """The normalised path of ``base/rel`` relative to the root, or an ``AnnotationError``.

        ``rel`` is the path as the annotation gives it; backslashes count as separators.
        """
        rel = rel.replace("\\", "/")
        if not rel or "\x00" in rel or _SURROGATE.search(rel):
            raise AnnotationError(str(path), where, "an image path", repr(rel))
        if rel.startswith("/") or _DRIVE.match(rel):
            raise AnnotationError(
                str(path),
                where,
                "an image path relative to the dataset root",
                f"absolute path {rel!r}",
                reason="path_outside_root",
            )
        norm = posixpath.normpath(f"{base}/{rel}" if base else rel)
        if norm == ".." or norm.startswith("../"):
            raise AnnotationError(
                str(path),
                where,
                "an image path inside the dataset root",
                f"{rel!r}, which leaves it through '..'",
                reason="path_outside_root",
            )
        if norm == ".":
            raise AnnotationError(str(path), where, "an image file name", repr(rel))
        self.check_inside(norm, path, where)
        return norm

    def check_inside(self, norm: str, path: Path | str, where: int | str) -> None:
        """Refuse a normalised relative path that reaches outside the root through a symlink."""
        if not self._resolves_inside(norm):
            raise AnnotationError(
                str(path),
                where,
                "an image inside the dataset root",
                f"{norm!r}, a symlink that resolves outside it",
                reason="path_outside_root",
            )

    def _resolves_inside(self, norm: str) -> bool:
        parent, _, name = norm.rpartition("/")
        links = self._links.get(parent)
        if links is None:
            links = self._scan(parent)
            self._links[parent] = links
        if links is _OUTSIDE:
            return False
        return name not in links or _inside(os.path.realpath(os.path.join(self.root, norm)), self.real_root)

    def _scan(self, parent: str) -> frozenset[str]:
        """The names of the symlinks in ``parent`` (one directory listing, no stat per file)."""
        folder = os.path.join(self.root, parent)
        if not _inside(os.path.realpath(folder), self.real_root):
            return _OUTSIDE
        try:
            with os.scandir(folder) as entries:
                return frozenset(e.name for e in entries if e.is_symlink())
        except OSError:
            return frozenset()  # the image check at build time reports a missing or unreadable file


_OUTSIDE: frozenset[str] = frozenset({"/"})  # marks a folder that itself resolves outside the root


def _reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()
