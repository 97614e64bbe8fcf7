"""``build_shard(task)``: the plain-Python unit of work that Spark or the process pool maps.

Samples are written in member-name order; each source image is decoded once per run of its
views; all views of a record are rendered before any is written, so a record is either whole
in the shard or rejected. Members stream into a unique temporary file, renamed when complete;
then the shard's DALI index (from the writer's own member offsets) and, last, its sidecar.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby
from pathlib import Path

from flmprep import augment, formats, imageio
from flmprep.atomic import atomic_output, make_dirs, write_atomic
from flmprep.builder.config import BuildConfig
from flmprep.builder.errors import BuildError
from flmprep.builder.plan import ShardItem, ShardTask, portable
from flmprep.errors import OutputError
from flmprep.jsonio import write_json
from flmprep.records import Reject
from flmprep.shards import naming
from flmprep.shards.index import IndexedMember, dali_index
from flmprep.shards.manifest import IndexRef, Sidecar
from flmprep.shards.sample import SampleCodec, encode_sample
from flmprep.shards.tarwriter import TarWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShardResult:
    """What a finished shard task reports back to the driver (small): the shard's sidecar, every
    record dropped from it (``sidecar.rejected`` lists only those the shard owns) and the time."""

    index: int
    sidecar: Sidecar
    rejects: tuple[Reject, ...]
    seconds: float

    @property
    def split(self) -> str:
        return self.sidecar.split

    @property
    def samples(self) -> int:
        return self.sidecar.samples


@dataclass(frozen=True)
class ShardFailure:
    """A shard task that stopped on a bad record under ``--on-error fail``: the engines return
    it like a result, and the driver raises ``BuildError`` with its message."""

    split: str
    index: int
    message: str


ShardOutcome = ShardResult | ShardFailure


@lru_cache(maxsize=8)
def _recipe(name: str, params_json: str) -> augment.Recipe:
    return augment.get_recipe(name, **json.loads(params_json))


def recipe_of(cfg: BuildConfig) -> augment.Recipe:
    """The config's recipe, built once per process."""
    return _recipe(cfg.recipe, json.dumps(dict(cfg.recipe_params), sort_keys=True))


def codec_of(cfg: BuildConfig) -> SampleCodec:
    return SampleCodec(cfg.image_format, cfg.quality, cfg.heatmaps, cfg.heatmap_size, cfg.sigma,
                       formats.attribute_names(cfg.dataset))


def _sample_order(task: ShardTask) -> list[tuple[str, int, int]]:
    """(sample key, item index, view) in tar member order."""
    entries = [(naming.sample_key(item.record.key, v), i, v)
               for i, item in enumerate(task.items) for v in range(item.start, item.stop)]
    return sorted(entries, key=lambda e: naming.member_order(e[0]))


def render_record(
    task: ShardTask,
    item: ShardItem,
    views: list[tuple[str, int]],
    recipe: augment.Recipe,
    codec: SampleCodec,
) -> list[tuple[str, bytes]]:
    """Plan every view of the record (pixel-free; a view that cannot be cropped rejects the
    whole record, in every shard holding its views), decode its image once at the factor all
    views allow (straight into RGBX when it has several views: 4-channel warps are faster and
    give the bytes of RGB), and encode the given (key, view) samples."""
    rec = item.record
    face, plans = augment.plan_record(recipe, rec, (item.width, item.height), build_seed=task.config.seed,
                                      split=task.split)
    reduce = augment.decode_reduce(recipe, plans)
    channels = 4 if len(plans) > 1 else 3
    decoded = imageio.read_image(Path(task.config.root) / rec.image, reduce=reduce, channels=channels)
    size = (decoded.width, decoded.height)
    if size != face.size:
        raise imageio.ImageError("image_changed", f"expected the {face.size[0]}×{face.size[1]} image the "
                                 f"plan probed, found {size[0]}×{size[1]}")
    members: list[tuple[str, bytes]] = []
    for key, view_index in views:
        view = augment.apply_plan(recipe, decoded.pixels, rec, face.points, plans[view_index], reduce=reduce)
        members.extend(encode_sample(key, rec, task.split, size, view, codec))
    return members


def _reject(task: ShardTask, item: ShardItem, exc: imageio.ImageError | augment.AugmentError) -> Reject:
    rec = item.record
    reject = Reject(rec.key, exc.reason, f"{rec.image}: {exc.message}", rec.origin, rec.split)
    return portable(reject, task.config.root)


def _write_members(task: ShardTask, writer: TarWriter,
                   index: list[IndexedMember]) -> tuple[int, int, dict[str, Reject]]:
    """Stream every sample of the task into ``writer``, appending each member's data offset to
    ``index``: (samples, owned records, rejects)."""
    recipe, codec = recipe_of(task.config), codec_of(task.config)
    samples = 0
    owned: set[int] = set()
    rejects: dict[str, Reject] = {}
    for item_index, group in groupby(_sample_order(task), key=lambda e: e[1]):
        item = task.items[item_index]
        if item.record.key in rejects:
            continue
        views = [(key, view) for key, _, view in group]
        try:
            members = render_record(task, item, views, recipe, codec)
        except (imageio.ImageError, augment.AugmentError) as exc:
            reject = _reject(task, item, exc)
            if task.config.on_error == "fail":
                raise BuildError.from_reject(reject) from exc
            rejects[item.record.key] = reject
            if item.owner:
                log.info("shard %s/%s: rejected %s: %s", task.split, task.name, reject.key, reject.message)
            else:
                log.warning("shard %s/%s: dropped views %d..%d of %s (%s); the shard holding its first "
                            "view reports the reject", task.split, task.name, item.start, item.stop - 1,
                            reject.key, reject.message)
            continue
        for name, data in members:
            index.append(IndexedMember(name, writer.add(name, data), len(data)))
        samples += len(views)
        if item.owner:
            owned.add(item_index)
    return samples, len(owned), rejects


def build_shard(task: ShardTask) -> ShardResult:
    """Write ``OUT/<split>/shard-NNNN.tar`` and its sidecar; same task → same bytes."""
    start = time.perf_counter()
    tar_path = task.tar_path
    make_dirs(tar_path.parent)
    members: list[IndexedMember] = []
    with atomic_output(tar_path) as fh:
        writer = TarWriter(fh)
        samples, records, rejects = _write_members(task, writer, members)
        writer.close()
    index = dali_index(members)
    write_atomic(task.index_path, index)
    ref = IndexRef(task.index_path.name, len(index), hashlib.sha256(index).hexdigest())
    owned = {item.record.key for item in task.items if item.owner}
    listed = tuple(sorted((r for r in rejects.values() if r.key in owned), key=lambda r: r.key))
    side = Sidecar(task.split, tar_path.name, samples, records, writer.size, writer.sha256(), listed, ref)
    write_json(task.sidecar_path, side.to_json())
    dropped = tuple(sorted(rejects.values(), key=lambda r: r.key))
    return ShardResult(task.index, side, dropped, time.perf_counter() - start)


def run_shard_task(task: ShardTask) -> ShardOutcome:
    """``build_shard``, with a ``BuildError`` (a bad record under ``--on-error fail``) or an
    ``OutputError`` (OUT cannot be written) returned as a ``ShardFailure``: what every engine
    maps over the shard tasks."""
    try:
        return build_shard(task)
    except (BuildError, OutputError) as exc:
        return ShardFailure(task.split, task.index, str(exc))
