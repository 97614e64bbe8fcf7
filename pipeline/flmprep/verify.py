"""Check a built dataset against its ``manifest.json``: every listed shard exists with the recorded
sha256, byte size and sample count, no shard is unlisted, every sample validates, each shard's
DALI index lists exactly its members' data offsets and sizes, sidecars, ``rejects.jsonl`` and the
dataset card's header (``README.md``) agree with the manifest. Each problem is one line naming
the file.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flmprep.jsonio import parse_json
from flmprep.shards.card import CARD_FILE, card_problems
from flmprep.shards.index import IndexedMember, dali_index, sample_members
from flmprep.shards.manifest import (
    MANIFEST_FILE,
    REJECTS_FILE,
    Manifest,
    ManifestError,
    ShardEntry,
    file_sha256,
    read_json_object,
)
from flmprep.shards.reader import Limits, ShardReadError, iter_samples
from flmprep.validate import check_sample, manifest_problems, sidecar_problems

log = logging.getLogger(__name__)
_SIDECAR_FIELDS = ("samples", "records", "bytes", "sha256")
__all__ = ["ManifestError", "Problem", "Report", "verify_output"]


def _is_sidecar(path: Path) -> bool:
    return path.suffix in (".json", ".idx") and path.name.startswith("shard-")


@dataclass(frozen=True)
class Problem:
    """One problem: the file (relative to the output root) and what is wrong with it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class Report:
    """Everything verify found; ``ok`` when there is no problem."""

    root: str
    shards: int
    samples: int
    problems: tuple[Problem, ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "ok": self.ok,
            "shards": self.shards,
            "samples": self.samples,
            "problems": [str(p) for p in self.problems],
            "warnings": list(self.warnings),
        }


class _Checker:
    """Accumulates problems while walking one output folder."""

    def __init__(self, root: Path, doc: dict[str, Any], limits: Limits, samples: bool) -> None:
        self.root, self.doc, self.limits, self.check_samples = root, doc, limits, samples
        self.manifest: Manifest | None = None
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.keys: set[str] = set()
        self.samples = 0

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def run(self) -> Report:
        for line in manifest_problems(self.doc):
            self.add(MANIFEST_FILE, line)
        try:
            self.manifest = Manifest.from_json(self.doc)
        except ManifestError as exc:
            self.add(MANIFEST_FILE, f"cannot list the shards: {exc}")
        listed = list(self.manifest.shards()) if self.manifest is not None else []
        for split, entry in listed:
            self.shard(split, entry)
        self.unlisted({entry.path for _, entry in listed})
        self.rejects()
        self.card()
        return Report(str(self.root), len(listed), self.samples, tuple(self.problems), tuple(self.warnings))

    def shard(self, split: str, entry: ShardEntry) -> None:
        rel = entry.path
        path = self.root / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            self.add(MANIFEST_FILE,
                     f"shard path {rel!r}: expected <split>/shard-NNNN.tar, found a path outside")
            return
        if not path.is_file():
            self.add(rel, "expected the shard listed in manifest.json, found no file")
            return
        digest, size = file_sha256(path)
        if size != entry.bytes:
            self.add(rel, f"expected {entry.bytes} bytes (manifest), found {size}")
        if digest != entry.sha256:
            self.add(rel, f"expected sha256 {entry.sha256} (manifest), found {digest}")
        members: list[IndexedMember] = []
        count = self.shard_samples(rel, path, split, members)
        if count is not None and count != entry.samples:
            self.add(rel, f"expected {entry.samples} samples (manifest), found {count}")
        if count is not None and entry.index is not None:
            self.index(entry, members)
        self.sidecar(split, rel, path, entry)

    def index(self, entry: ShardEntry, members: list[IndexedMember]) -> None:
        """The DALI index: recorded size and sha256, and exactly the index of the tar's members."""
        assert entry.index is not None
        rel = entry.index_path
        try:
            data = (self.root / rel).read_bytes()
        except OSError:
            self.add(rel, "expected the shard's DALI index (manifest), found no file")
            return
        digest = hashlib.sha256(data).hexdigest()
        if (len(data), digest) != (entry.index.bytes, entry.index.sha256):
            self.add(rel, f"expected {entry.index.bytes} bytes with sha256 {entry.index.sha256} (manifest), "
                          f"found {len(data)} bytes with sha256 {digest}")
        expected = dali_index(members).splitlines()
        found = data.splitlines()
        for n, (want, got) in enumerate(zip(expected, found, strict=False), 1):
            if want != got:
                self.add(rel, f"line {n}: expected {want.decode()[:120]!r} (the tar's members), found "
                              f"{got.decode(errors='replace')[:120]!r}")
                return
        if len(expected) != len(found):
            self.add(rel, f"expected {len(expected)} lines (the tar's samples + 1), found {len(found)}")

    def shard_samples(self, rel: str, path: Path, split: str, members: list[IndexedMember]) -> int | None:
        """Stream and validate the samples of one shard, appending its members' index entries to
        ``members``; None when it cannot be read through."""
        count = 0
        try:
            for sample in iter_samples(path, limits=self.limits):
                members.extend(sample_members([sample]))
                count += 1
                if sample.key in self.keys:
                    self.add(rel, f"{sample.key}: expected unique sample keys, found a duplicate")
                self.keys.add(sample.key)
                if self.check_samples:
                    self.sample_problems(rel, sample, split)
        except ShardReadError as e:
            self.add(rel, f"unreadable: {e}")
            return None
        self.samples += count
        return count

    def sample_problems(self, rel: str, sample: Any, split: str) -> None:
        doc, problems = check_sample(sample)
        for line in problems:
            self.add(rel, f"{sample.key}: {line}")
        if doc is None or problems:
            return
        assert self.manifest is not None
        for field, want in (
            ("split", split),
            ("scheme", self.manifest.scheme),
            ("dataset", self.manifest.dataset),
        ):
            if doc[field] != want:
                self.add(rel, f"{sample.key}: /{field}: expected {want!r} (manifest), found {doc[field]!r}")

    def sidecar(self, split: str, rel: str, path: Path, entry: ShardEntry) -> None:
        side = path.with_suffix(".json")
        side_rel = Path(rel).with_suffix(".json").as_posix()
        try:
            doc = parse_json(side.read_bytes())
        except OSError:
            self.add(side_rel, "expected the shard's sidecar, found no file")
            return
        except (ValueError, UnicodeDecodeError) as e:
            self.add(side_rel, f"expected valid JSON, found: {e}")
            return
        problems = sidecar_problems(doc)
        for line in problems:
            self.add(side_rel, line)
        if problems:
            return
        expected = {"split": split, "name": path.name, **{f: getattr(entry, f) for f in _SIDECAR_FIELDS}}
        if entry.index is not None:
            expected["index"] = entry.index.to_json()
        for field, want in expected.items():
            if doc.get(field) != want:
                self.add(side_rel, f"/{field}: expected {want!r} (manifest), found {doc.get(field)!r}")

    def unlisted(self, listed: set[str]) -> None:
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root).as_posix()
            if path.name.endswith(".tmp"):
                self.warnings.append(f"{rel}: leftover temporary file (an interrupted build?)")
            elif path.suffix == ".tar" and rel not in listed:
                self.add(rel, "expected only shards listed in manifest.json, found an unlisted shard")
            elif _is_sidecar(path) and Path(rel).with_suffix(".tar").as_posix() not in listed:
                self.add(rel, "expected sidecars and indexes only next to listed shards, found an unlisted "
                              "one")

    def rejects(self) -> None:
        path = self.root / REJECTS_FILE
        try:
            lines = path.read_bytes().splitlines()
        except OSError:
            self.add(REJECTS_FILE, "expected the list of rejected records, found no file")
            return
        reasons: Counter[str] = Counter()
        for n, line in enumerate(lines, 1):
            try:
                reasons[str(parse_json(line)["reason"])] += 1
            except (ValueError, KeyError, TypeError) as e:
                self.add(REJECTS_FILE, f"line {n}: expected a reject object with a reason, found error {e}")
        if self.manifest is None:
            return
        stated = self.manifest.rejects_by_reason
        if dict(reasons) != {k: v for k, v in stated.items() if v}:
            self.add(REJECTS_FILE, f"expected counts by reason {stated} (manifest), found {dict(reasons)}")


    def card(self) -> None:
        """``README.md``: when present, its YAML header must be the one the manifest gives."""
        if self.manifest is None:
            return
        path = self.root / CARD_FILE
        if not path.is_file():
            if self.manifest.schema != "flmprep.manifest/1":
                self.warnings.append(f"{CARD_FILE}: no dataset card (datasets.load_dataset needs its file "
                                     "list)")
            return
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as e:
            self.add(CARD_FILE, f"expected a UTF-8 dataset card, found {e}")
            return
        for line in card_problems(text, self.manifest):
            self.add(CARD_FILE, line)


def verify_output(root: Path, *, limits: Limits | None = None, samples: bool = True) -> Report:
    """Check the dataset at ``root``; ``samples=False`` skips per-sample validation (counts still checked)."""
    doc = read_json_object(root / MANIFEST_FILE, "a manifest")
    log.info("verifying %s", root)
    return _Checker(root, doc, limits or Limits(), samples).run()
