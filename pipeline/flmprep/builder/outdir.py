"""The output folder: the guard (fresh, resume with the same config only, or overwrite of
flmprep's own files only), the build-state file, and which shards a resume still has to build."""

from __future__ import annotations

import fcntl
import logging
import os
import re
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flmprep.atomic import make_dirs, remove
from flmprep.builder import versions
from flmprep.builder.config import BuildConfig
from flmprep.builder.plan import Plan, ShardTask
from flmprep.builder.versions import library_versions
from flmprep.errors import ConfigError, OutputError
from flmprep.jsonio import parse_json, write_json
from flmprep.shards import naming
from flmprep.shards.card import CARD_FILE
from flmprep.shards.manifest import check_shard

log = logging.getLogger(__name__)

STATE_FILE = ".flmprep-build.json"
STATE_SCHEMA = "flmprep.build-state/1"
#: Held (``flock``) by the build writing into OUT; empty when no build runs.
LOCK_FILE = ".flmprep-build.lock"
ROOT_FILES = ("manifest.json", "rejects.jsonl", CARD_FILE, STATE_FILE, LOCK_FILE)
_ROOT_TMP = re.compile(
    r"^(manifest\.json|rejects\.jsonl|README\.md|\.flmprep-build\.json)\.[A-Za-z0-9-]+\.tmp$")
_SPLIT_DIR = re.compile(r"^[a-z][a-z0-9_-]*$")


def state_doc(cfg: BuildConfig) -> dict[str, Any]:
    from flmprep import __version__

    return {"schema": STATE_SCHEMA, "flmprep_version": __version__, "versions": library_versions(),
            "config": cfg.to_json(), "config_hash": cfg.hash()}


def read_state(out: Path) -> dict[str, Any] | None:
    """The build state recorded in OUT, or None when there is none."""
    path = out / STATE_FILE
    if not path.is_file():
        return None
    try:
        doc = parse_json(path.read_bytes())
    except ValueError as exc:
        raise ConfigError(f"{path}: expected JSON, found a parse error ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("schema") != STATE_SCHEMA:
        raise ConfigError(f"{path}: expected a {STATE_SCHEMA} object, found something else")
    return doc


def is_ours(out: Path, path: Path) -> bool:
    """True for files and folders a build writes: root files, split folders of shard files."""
    rel = path.relative_to(out)
    if len(rel.parts) == 1:
        name = rel.parts[0]
        if path.is_dir() and not path.is_symlink():
            return bool(_SPLIT_DIR.match(name))
        return name in ROOT_FILES or bool(_ROOT_TMP.match(name))
    if len(rel.parts) == 2 and path.is_file() and not path.is_symlink():
        name = rel.parts[1]
        return bool(naming.SHARD_RE.match(name) or naming.TMP_RE.match(name))
    return False


def foreign_files(out: Path) -> list[Path]:
    """Everything under OUT that a build would not have written."""
    found: list[Path] = []
    for child in sorted(out.iterdir()):
        if not is_ours(out, child):
            found.append(child)
        elif child.is_dir():
            found.extend(p for p in sorted(child.iterdir()) if not is_ours(out, p))
    return found


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    keys = sorted(set(old) | set(new))
    return [f"{k}: was {old.get(k)!r}, now {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]


def _entries(out: Path) -> list[Path]:
    """What OUT holds besides the lock file."""
    return [p for p in sorted(out.iterdir()) if p.name != LOCK_FILE] if out.exists() else []


def _remove_ours(out: Path) -> None:
    for child in _entries(out):
        if child.is_dir():
            for p in sorted(child.iterdir()):
                remove(p)
        remove(child)


def remove_tmp(out: Path) -> None:
    """Delete the temporary files builds leave when stopped mid-write (the engine has stopped)."""
    for p in sorted(out.glob("*.tmp")) + sorted(out.glob("*/*.tmp")):
        if is_ours(out, p):
            remove(p)


def _check_resume(cfg: BuildConfig, out: Path) -> None:
    state = read_state(out)
    if state is None:
        raise ConfigError(f"{out}: --resume expected a previous flmprep build ({STATE_FILE}), found none")
    from flmprep import __version__

    if state.get("flmprep_version") != __version__:
        raise ConfigError(f"{out}: --resume expected a build by flmprep {__version__}, found one by "
                          f"{state.get('flmprep_version')!r}; use --overwrite to rebuild")
    changed = versions.differences(state.get("versions") or {}, library_versions())
    if changed:
        raise ConfigError(f"{out}: --resume expected the library versions of the previous build (shards "
                          f"are byte-identical only for the same versions), found: {'; '.join(changed)}; "
                          "run with those versions or use --overwrite to rebuild")
    if state.get("config_hash") != cfg.hash():
        diffs = _differences(state.get("config") or {}, cfg.to_json())
        raise ConfigError(
            f"{out}: --resume expected the config of the previous build (hash {state.get('config_hash')}), "
            f"found a different one: {'; '.join(diffs) or 'hash differs'}; rerun with the same options "
            "or use --overwrite")


def prepare(cfg: BuildConfig) -> None:
    """Create OUT and record the config; refuse a non-empty OUT unless resuming the same config
    or overwriting a previous flmprep build (only flmprep's own files are deleted)."""
    out = Path(cfg.out)
    _check_folder(out)
    entries = _entries(out)
    if entries and not (cfg.resume or cfg.overwrite):
        raise ConfigError(f"--out {out}: expected an empty or new folder, found {len(entries)} entries "
                          "(use --resume to continue that build or --overwrite to replace it)")
    if entries:
        foreign = foreign_files(out)
        if foreign:
            shown = ", ".join(str(p.relative_to(out)) for p in foreign[:5])
            more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
            raise ConfigError(f"--out {out}: expected only files of a flmprep build, found {shown}{more}; "
                              "move them away or choose another --out")
        if cfg.resume:
            _check_resume(cfg, out)
            remove_tmp(out)
            remove(out / "manifest.json")
            log.info("resuming the build in %s", out)
            return
        log.info("overwriting the previous build in %s", out)
        _remove_ours(out)
    make_dirs(out)
    write_json(out / STATE_FILE, state_doc(cfg))


def check_plan(cfg: BuildConfig, fingerprint: str) -> None:
    """Record the plan's fingerprint in OUT's state, or, when one is recorded (a resume), refuse
    a different one: the records changed since the build began. No-op without a state file."""
    out = Path(cfg.out)
    state = read_state(out) if out.is_dir() else None
    if state is None:
        return
    old = state.get("plan_fingerprint")
    if old is None:
        write_json(out / STATE_FILE, {**state, "plan_fingerprint": fingerprint})
    elif old != fingerprint:
        raise ConfigError(f"{out}: --resume expected the records of the previous build (plan fingerprint "
                          f"{old[:16]}…), found different ones ({fingerprint[:16]}…): annotations, image "
                          "sizes or rejects changed; use --overwrite to rebuild")


def pending(the_plan: Plan) -> list[ShardTask]:
    """Tasks whose tar or sidecar is missing or disagrees with the other (size, sha256, name)."""
    todo = [t for t in the_plan.tasks if check_shard(t.tar_path, t.sidecar_path) is not None]
    log.info("resume: %d of %d shards to build", len(todo), len(the_plan.tasks))
    return todo


def _check_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: expected a folder, found a file")


def _holder() -> str:
    command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv[:3]))
    return f"process {os.getpid()} on {socket.gethostname()} ({command})"


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on OUT (``flock`` on ``OUT/.flmprep-build.lock``) for the whole
    build; the OS releases it if the process dies. A second build, ``--overwrite`` or
    ``--resume`` of the same OUT is refused with a message naming the process holding it."""
    _check_folder(out)
    make_dirs(out)
    path = out / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError.of(path, "create the lock file", exc) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 1024, 0).decode("utf-8", "replace").strip() or "another process"
        os.close(fd)
        raise ConfigError(f"--out {out}: expected no other build writing into it, found one running: "
                          f"{holder}; wait for it to finish or stop it") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, (_holder() + "\n").encode(), 0)
        yield
    finally:
        os.ftruncate(fd, 0)  # an empty lock file: finished builds stay byte-identical
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
