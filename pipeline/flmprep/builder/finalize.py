"""The driver's last step: read every sidecar, write ``rejects.jsonl``, the dataset card
``README.md``, then ``manifest.json``."""

from __future__ import annotations

import logging
from pathlib import Path

from flmprep import __version__, formats
from flmprep.atomic import remove, write_atomic
from flmprep.builder.config import BuildConfig
from flmprep.builder.errors import BuildError
from flmprep.builder.plan import Plan
from flmprep.builder.versions import library_versions
from flmprep.jsonio import canonical_line, write_json
from flmprep.records import Reject
from flmprep.shards import naming
from flmprep.shards.card import CARD_FILE, dataset_card
from flmprep.shards.manifest import (
    MANIFEST_FILE,
    REJECTS_FILE,
    Manifest,
    ManifestError,
    ShardEntry,
    Sidecar,
    SplitEntry,
    Totals,
    by_reason,
    read_sidecar,
)

log = logging.getLogger(__name__)

#: Exit status of a build whose reject ratio exceeds ``--max-reject-ratio``.
EXIT_TOO_MANY_REJECTS = 3


def _sidecars(plan: Plan) -> dict[tuple[str, int], Sidecar]:
    out: dict[tuple[str, int], Sidecar] = {}
    for task in plan.tasks:
        try:
            out[(task.split, task.index)] = read_sidecar(task.sidecar_path)
        except ManifestError as exc:
            raise BuildError(f"finalize: expected every shard built, found {exc}") from exc
    return out


def _split_entry(plan: Plan, split: str, sides: dict[tuple[str, int], Sidecar],
                 rejects: list[Reject]) -> SplitEntry:
    mine = [(t, sides[(t.split, t.index)]) for t in plan.split_tasks(split)]
    planned = sum(t.records for t, _ in mine)
    build_rejected = sum(len(side.rejected) for _, side in mine)
    return SplitEntry(shards=tuple(ShardEntry.of(split, side) for _, side in mine),
                      samples=sum(side.samples for _, side in mine),
                      records=planned - build_rejected,
                      rejected=sum(1 for r in rejects if r.split == split))


def make_manifest(cfg: BuildConfig, plan: Plan, sides: dict[tuple[str, int], Sidecar],
                  rejects: list[Reject]) -> Manifest:
    """The manifest of a finished build; checks input records = written + rejected."""
    names = sorted({t.split for t in plan.tasks} | {r.split for r in rejects if r.split})
    splits = {s: _split_entry(plan, s, sides, rejects) for s in names}
    written = sum(s.records for s in splits.values())
    if plan.input_records != written + len(rejects):
        raise BuildError(f"finalize: expected input records {plan.input_records} = written {written} + "
                         f"rejected {len(rejects)}, found a mismatch (a sidecar does not match the plan)")
    totals = Totals(plan.input_records, written, len(rejects), sum(s.samples for s in splits.values()))
    return Manifest(flmprep_version=__version__, dataset=cfg.dataset, scheme=formats.scheme_of(cfg.dataset),
                    recipe=cfg.recipe, config=cfg.to_json(), config_hash=cfg.hash(), splits=splits,
                    totals=totals, rejects_by_reason=by_reason(rejects), versions=library_versions(),
                    read_counts=dict(plan.read_counts))


def remove_stale_tmp(plan: Plan) -> list[Path]:
    """Delete the temporary shard files (``shard-NNNN.tar.<pid>-<token>.tmp``) that task attempts
    killed mid-write left behind (a lost executor, the losing copy of a speculative task, a
    killed pool worker); a later attempt wrote those shards. Call it once the engine has
    stopped. Returns what it deleted."""
    removed = []
    for split in plan.splits:
        for path in sorted((Path(plan.config.out) / split).glob("*.tmp")):
            if naming.TMP_RE.match(path.name):
                log.warning("removing %s, left by a killed task attempt", path)
                remove(path)
                removed.append(path)
    return removed


def finalize(cfg: BuildConfig, plan: Plan) -> Manifest:
    """Once the engine has stopped: remove stale temporary shard files, then write
    ``OUT/rejects.jsonl``, ``OUT/README.md`` and, last, ``OUT/manifest.json``; returns the manifest."""
    remove_stale_tmp(plan)
    sides = _sidecars(plan)
    built = [r for side in sides.values() for r in side.rejected]
    rejects = sorted([*plan.rejects, *built], key=lambda r: (r.split, r.key, r.reason))
    out = Path(cfg.out)
    write_atomic(out / REJECTS_FILE, b"".join(canonical_line(r.to_json()) for r in rejects))
    manifest = make_manifest(cfg, plan, sides, rejects)
    write_atomic(out / CARD_FILE, dataset_card(manifest).encode())
    write_json(out / MANIFEST_FILE, manifest.to_json())
    log.info("wrote %s", out / MANIFEST_FILE)
    return manifest


def reject_ratio(manifest: Manifest) -> float:
    totals = manifest.totals
    return totals.rejected_records / totals.input_records if totals.input_records else 0.0


def exit_status(cfg: BuildConfig, manifest: Manifest) -> int:
    """0, or ``EXIT_TOO_MANY_REJECTS`` (logged) when rejected/input exceeds ``max_reject_ratio``."""
    ratio = reject_ratio(manifest)
    if ratio > cfg.max_reject_ratio:
        totals = manifest.totals
        log.error("rejected %d of %d input records (%.2f%%): expected at most --max-reject-ratio %.4g; "
                  "see %s", totals.rejected_records, totals.input_records, 100 * ratio,
                  cfg.max_reject_ratio, Path(cfg.out) / REJECTS_FILE)
        return EXIT_TOO_MANY_REJECTS
    return 0
