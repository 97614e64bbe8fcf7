"""``--shard-bytes``: the sample count that makes shards of about that size, measured on the
dataset itself. Before planning, the driver renders and encodes the views of a few probed records
(evenly spread over the key-sorted records of the largest split, so the choice is deterministic),
writes them into an in-memory tar and takes the mean bytes per sample, tar headers included."""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Iterable, Sequence

from flmprep import imageio
from flmprep.augment import AugmentError
from flmprep.builder.config import BuildConfig
from flmprep.builder.plan import ProbeResult, ShardItem, ShardTask
from flmprep.builder.shard import codec_of, recipe_of, render_record
from flmprep.errors import ConfigError
from flmprep.shards import naming
from flmprep.shards.tarwriter import RECORD, TarWriter

log = logging.getLogger(__name__)
#: Records measured, and views measured per record.
SAMPLED_RECORDS = 12
SAMPLED_VIEWS = 4


def _sampled(results: Iterable[Sequence[ProbeResult]]) -> tuple[str, list[ProbeResult]]:
    """The largest split and up to SAMPLED_RECORDS of its probed records, evenly spread by key."""
    by_split: dict[str, list[ProbeResult]] = {}
    for r in (r for chunk in results for r in chunk if r.record is not None):
        by_split.setdefault(r.split, []).append(r)
    if not by_split:
        return "", []
    split = max(sorted(by_split), key=lambda s: len(by_split[s]))
    ordered = sorted(by_split[split], key=lambda r: r.key)
    step = max(1, len(ordered) // SAMPLED_RECORDS)
    return split, ordered[::step][:SAMPLED_RECORDS]


def bytes_per_sample(cfg: BuildConfig, results: Iterable[Sequence[ProbeResult]]) -> float | None:
    """Mean tar bytes of one sample of ``cfg`` on these records; None when none could be rendered."""
    split, records = _sampled(results)
    recipe, codec = recipe_of(cfg), codec_of(cfg)
    views = min(SAMPLED_VIEWS, recipe.num_views(split)) if split else 0
    members: list[tuple[str, bytes]] = []
    for r in records:
        assert r.record is not None
        item = ShardItem(r.record, r.width, r.height, 0, views, True)
        task = ShardTask(split, 0, cfg, (item,), views)
        keys = [(naming.sample_key(r.key, v), v) for v in range(views)]
        try:
            members += render_record(task, item, keys, recipe, codec)
        except (imageio.ImageError, AugmentError) as exc:  # a reject at build time: measure the others
            log.debug("--shard-bytes: not measuring %s (%s)", r.key, exc)
    samples = len({name.split(".", 1)[0] for name, _ in members})
    if not samples:
        return None
    writer = TarWriter(io.BytesIO())
    for name, data in sorted(members, key=lambda m: m[0].encode()):
        writer.add(name, data)
    return writer.size / samples


def resolve(cfg: BuildConfig, results: Sequence[Sequence[ProbeResult]]) -> BuildConfig:
    """``cfg`` with ``samples_per_shard`` set from ``--shard-bytes`` (unchanged without it)."""
    if cfg.shard_bytes is None:
        return cfg
    per_sample = bytes_per_sample(cfg, results)
    if per_sample is None:
        raise ConfigError("--shard-bytes: expected records whose views can be rendered to measure, "
                          "found none")
    count = max(1, int((cfg.shard_bytes - RECORD) // per_sample))
    log.info("--shard-bytes %d: %.0f bytes a sample measured, %d samples a shard",
             cfg.shard_bytes, per_sample, count)
    return dataclasses.replace(cfg, samples_per_shard=count)
