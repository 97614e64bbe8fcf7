"""The exporters' view of a built dataset: its manifest, the splits asked for, and every sample of
a split as the shard stores it (the encoded image bytes untouched, the sample JSON parsed and kept
byte for byte), read with the safe streaming tar reader."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flmprep.errors import FlmprepError
from flmprep.jsonio import parse_json
from flmprep.schemes import Scheme, get_scheme
from flmprep.shards.manifest import Manifest, ManifestError, ShardEntry
from flmprep.shards.reader import Sample, ShardReadError, iter_samples

IMAGE_EXTENSIONS = ("jpg", "png", "webp")
HEATMAP_MEMBER = "hm.png"
_SAFE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class ExportError(FlmprepError):
    """A build that cannot be exported, a refused DEST, or a missing optional package."""


@dataclass(frozen=True)
class ExportSample:
    """One sample of a split: ``image`` and ``heatmap`` are the shard's member bytes, ``json`` the
    sample JSON member as stored and ``doc`` its parsed form."""

    key: str
    split: str
    image: bytes
    image_format: str
    json: bytes
    doc: dict[str, Any]
    heatmap: bytes | None

    @property
    def landmarks(self) -> np.ndarray:
        """float32 [K, 2], output pixels (0-based, pixel centres at integers)."""
        return np.asarray(self.doc["landmarks"], dtype=np.float32).reshape(-1, 2)

    @property
    def visible(self) -> np.ndarray:
        """uint8 [K]: 1 where the landmark lies inside the output image."""
        return np.asarray(self.doc["visible"], dtype=np.uint8)

    @property
    def transform(self) -> np.ndarray:
        """float64 [2, 3]: the affine map from source-image pixels to output pixels."""
        return np.asarray(self.doc["transform"], dtype=np.float64).reshape(2, 3)

    @property
    def width(self) -> int:
        return int(self.doc["image"]["width"])

    @property
    def height(self) -> int:
        return int(self.doc["image"]["height"])


def load_manifest(source: Path) -> Manifest:
    """The build's manifest; ExportError (naming the file) when SOURCE is not a finished build."""
    if not source.is_dir():
        found = "nothing" if not source.exists() else "a file"
        raise ExportError(f"{source}: expected a built dataset folder (flmprep build --out), found {found}")
    try:
        return Manifest.load(source)
    except ManifestError as exc:
        raise ExportError(str(exc)) from exc


def choose_splits(manifest: Manifest, source: Path, split: str | None) -> tuple[str, ...]:
    """Every split of the build, or just ``split``; ExportError listing the splits otherwise."""
    if split is None:
        return tuple(manifest.splits)
    if split not in manifest.splits:
        known = ", ".join(manifest.splits) or "none"
        raise ExportError(f"{source / 'manifest.json'}: expected split {split!r} to be one of the "
                          f"build's splits ({known}), found no such split")
    return (split,)


def _shard_path(source: Path, shard: ShardEntry) -> Path:
    path = (source / shard.path).resolve()
    if not path.is_relative_to(source.resolve()):
        raise ExportError(f"{source / 'manifest.json'}: expected shard paths inside the build, "
                          f"found {shard.path!r}")
    return path


def scheme_of(manifest: Manifest, source: Path) -> Scheme:
    """The build's landmark scheme; ExportError when the manifest names an unknown one."""
    try:
        return get_scheme(manifest.scheme)
    except KeyError as exc:
        raise ExportError(f"{source / 'manifest.json'}: {exc.args[0]}") from exc


def iter_split(source: Path, manifest: Manifest, split: str) -> Iterator[ExportSample]:
    """The samples of ``split`` in manifest (shard) order; ExportError names the shard and sample
    of anything unreadable or malformed, or a shard whose sample count differs from the manifest."""
    k = scheme_of(manifest, source).num_points
    for shard in manifest.splits[split].shards:
        tar = _shard_path(source, shard)
        count = 0
        try:
            for sample in iter_samples(tar):
                count += 1
                yield to_export_sample(sample, split, f"{tar}: sample {sample.key!r}", k)
        except ShardReadError as exc:
            raise ExportError(str(exc)) from exc
        if count != shard.samples:
            raise ExportError(f"{tar}: expected {shard.samples} samples (manifest), found {count}")


def to_export_sample(sample: Sample, split: str, where: str, k: int) -> ExportSample:
    """Check one tar sample and keep its bytes; ExportError(``where``: expected X, found Y)."""
    if not _SAFE_KEY.fullmatch(sample.key):
        raise ExportError(f"{where}: expected a key of letters, digits, '_' and '-', found another character")
    images = [ext for ext in sample.extensions if ext in IMAGE_EXTENSIONS]
    data = sample.get("json")
    if len(images) != 1 or data is None:
        raise ExportError(f"{where}: expected one image member ({'/'.join(IMAGE_EXTENSIONS)}) and a json "
                          f"member, found {', '.join(sample.extensions)}")
    try:
        doc = parse_json(data)
    except ValueError as exc:
        raise ExportError(f"{where}: expected the sample JSON, found invalid JSON ({exc})") from exc
    _check_doc(doc, sample.key, where, k)
    image = sample.get(images[0])
    assert image is not None
    return ExportSample(sample.key, split, image, images[0], data, doc, sample.get(HEATMAP_MEMBER))


def _check_doc(doc: Any, key: str, where: str, k: int) -> None:
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith("flmprep.sample/"):
        raise ExportError(f"{where}: expected a flmprep.sample JSON object, found {str(doc)[:60]!r}")
    if doc.get("key") != key:
        raise ExportError(f"{where}: expected the JSON key to be the member key, found {doc.get('key')!r}")
    try:
        points = np.asarray(doc["landmarks"], dtype=np.float64)
        visible = doc["visible"]
        transform = np.asarray(doc["transform"], dtype=np.float64)
        size = (int(doc["image"]["width"]), int(doc["image"]["height"]))
    except (KeyError, TypeError, ValueError) as exc:
        what = "landmarks, visible, transform and image size"
        raise ExportError(f"{where}: expected {what}, found {exc!r}") from exc
    checks = (
        (points.shape == (k, 2) and bool(np.isfinite(points).all()), f"{k}×2 finite landmarks",
         f"shape {points.shape}"),
        (isinstance(visible, list) and len(visible) == k and all(isinstance(v, bool) for v in visible),
         f"{k} visibility booleans", f"{str(visible)[:40]}"),
        (transform.shape == (2, 3) and bool(np.isfinite(transform).all()), "a finite 2×3 transform",
         f"shape {transform.shape}"),
        (min(size) > 0, "a positive image size", f"{size[0]}×{size[1]}"),
    )
    for ok, expected, found in checks:
        if not ok:
            raise ExportError(f"{where}: expected {expected}, found {found}")
