"""Validate samples, sidecars and manifests: the JSON Schemas in ``flmprep.schemas`` plus the checks
a schema cannot express (K of the scheme, member presence, image sizes from headers, sums).

Every problem is one line: where, then "expected X, found Y".
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from flmprep import imageio, targets
from flmprep.jsonio import parse_json
from flmprep.schemes import get_scheme
from flmprep.shards.reader import Sample

if TYPE_CHECKING:  # the pure-Python validator is imported only to explain a failure
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

SCHEMAS = ("sample", "manifest", "shard", "prediction", "sample-v1", "manifest-v1", "shard-v1")
IMAGE_EXTS = ("jpg", "png", "webp")
_SIGNATURE = {"jpg": "jpeg", "png": "png", "webp": "webp"}
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema ``schemas/<name>.schema.json`` from the installed package."""
    if name not in SCHEMAS:
        raise KeyError(f"unknown schema {name!r}; expected one of {', '.join(SCHEMAS)}")
    text = resources.files("flmprep.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


@cache
def _validator(name: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(name))


@cache
def _fast_validator(name: str) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(load_schema(name))


def is_schema_valid(name: str, doc: Any) -> bool:
    """Whether ``doc`` validates (jsonschema-rs, fast; the Python validator explains failures)."""
    try:
        return bool(_fast_validator(name).is_valid(doc))
    except (ValueError, OverflowError, TypeError):
        return not any(True for _ in _validator(name).iter_errors(doc))


def _expected(error: ValidationError) -> str:
    rule, value = error.validator, error.validator_value
    if rule == "type":
        return f"expected type {value}, found {error.instance!r:.60}"
    if rule == "const":
        return f"expected {value!r}, found {error.instance!r:.60}"
    if rule == "enum":
        return f"expected one of {', '.join(map(repr, value))}, found {error.instance!r:.60}"
    if rule == "pattern":
        return f"expected a string matching {value}, found {error.instance!r:.60}"
    if rule in ("minItems", "maxItems"):
        return f"expected {rule[:3]} {value} items, found {len(error.instance)}"
    if rule in ("minimum", "maximum", "exclusiveMinimum"):
        return f"expected {rule} {value}, found {error.instance!r}"
    return error.message


def schema_for(kind: str, doc: Any) -> str:
    """The schema file of a document of ``kind`` ("sample", "manifest", "shard"): the ``/1`` one
    when the document says ``flmprep.<kind>/1``, else the current one (whose ``schema`` const
    then names the expected tag)."""
    tag = doc.get("schema") if isinstance(doc, dict) else None
    return f"{kind}-v1" if tag == f"flmprep.{kind}/1" else kind


def schema_errors(name: str, doc: Any) -> list[str]:
    """One line per JSON Schema violation: the JSON pointer, then what was expected and found."""
    if is_schema_valid(name, doc):
        return []
    out = []
    for error in sorted(_validator(name).iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        out.append(f"{where}: {_expected(error)}")
    return out


def _finite(rows: list[Any]) -> bool:
    """All numbers of a list of numbers or of number lists are finite (1e999 parses to infinity)."""
    flat = [v for row in rows for v in row] if rows and isinstance(rows[0], list) else rows
    if math.isfinite(math.fsum(flat)):
        return True
    return all(math.isfinite(v) for v in flat)  # fsum overflows only for |values| near 1e308


def _jpeg_components(data: bytes) -> int | None:
    """The component count in a JPEG frame header (SOFn), walking the marker segments."""
    i = 2
    while i + 9 < len(data) and data[i] == 0xFF:
        code = data[i + 1]
        if code in _SOF:
            return data[i + 9]
        if code == 0xDA:
            return None
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None


def header_channels(data: bytes, fmt: str) -> int | None:
    """Channels stored in a JPEG or PNG (1 grey, 3 colour; alpha counted), None when unknown."""
    if fmt == "jpeg":
        return _jpeg_components(data)
    if fmt == "png" and len(data) > 25:
        return {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}.get(data[25])
    return None


def _image_problems(sample: Sample, doc: dict[str, Any]) -> list[str]:
    image = doc["image"]
    present = [e for e in sample.extensions if e in IMAGE_EXTS]
    if present != [image["format"]]:
        return [f"image: expected one member {sample.key}.{image['format']}, found {present or 'none'}"]
    data = sample.get(image["format"]) or b""
    try:
        info = imageio.probe(data, max_pixels=None)
    except imageio.ImageError as e:
        return [f"{sample.key}.{image['format']}: {e.message}"]
    problems = []
    if info.format != _SIGNATURE[image["format"]]:
        problems.append(
            f"{sample.key}.{image['format']}: expected {image['format']} bytes, found {info.format}"
        )
    channels = header_channels(data, info.format)
    if channels is not None and channels != image["channels"]:
        problems.append(
            f"{sample.key}.{image['format']}: expected {image['channels']} channels, found {channels}"
        )
    if (info.width, info.height) != (image["width"], image["height"]):
        found = f"{info.width}×{info.height}"
        expected = f"{image['width']}×{image['height']}"
        problems.append(f"{sample.key}.{image['format']}: expected {expected} (image), found {found}")
    return problems


def _heatmap_problems(sample: Sample, doc: dict[str, Any], k: int) -> list[str]:
    data, hm = sample.get("hm.png"), doc.get("heatmap")
    if hm is None:
        return [] if data is None else [f"{sample.key}.hm.png: expected no heatmap member (no 'heatmap')"]
    if data is None:
        return [f"heatmap: expected member {sample.key}.hm.png, found none"]
    (w, h), (cols, rows) = hm["size"], hm["tiles"]
    problems = []
    if (cols, rows) != targets.tile_grid(k):
        expected = "{}×{}".format(*targets.tile_grid(k))
        problems.append(f"/heatmap/tiles: expected {expected} for K={k}, found {cols}×{rows}")
    try:
        info = imageio.probe(data, max_pixels=None)
    except imageio.ImageError as e:
        return [*problems, f"{sample.key}.hm.png: {e.message}"]
    if (info.format, info.width, info.height) != ("png", cols * w, rows * h):
        found = f"{info.format} {info.width}×{info.height}"
        problems.append(f"{sample.key}.hm.png: expected png {cols * w}×{rows * h}, found {found}")
    return problems


def _semantic_problems(sample: Sample, doc: dict[str, Any]) -> list[str]:
    problems = []
    if doc["key"] != sample.key:
        problems.append(f"/key: expected {sample.key!r} (the member key), found {doc['key']!r}")
    view_key = f"{doc['source']['record']}_v{doc['augment']['view']:02d}"
    if doc["key"] != view_key:
        problems.append(f"/key: expected {view_key!r} (source.record + _v + view), found {doc['key']!r}")
    k = get_scheme(doc["scheme"]).num_points
    if not len(doc["landmarks"]) == len(doc["visible"]) == k:
        found = f"{len(doc['landmarks'])} landmarks and {len(doc['visible'])} visibility flags"
        problems.append(f"/landmarks: expected {k} points for scheme {doc['scheme']}, found {found}")
    augment = doc["augment"]
    for field, value in (
        ("landmarks", doc["landmarks"]),
        ("bbox", doc["bbox"]),
        ("transform", doc["transform"]),
        ("augment", [augment["angle"], augment["scale"]]),
    ):
        if not _finite(value):
            problems.append(f"/{field}: expected finite numbers, found NaN or infinity")
    x0, y0, x1, y1 = doc["bbox"]
    if x0 > x1 or y0 > y1:
        problems.append(f"/bbox: expected x_min <= x_max and y_min <= y_max, found {doc['bbox']}")
    known = {"json", "hm.png", *IMAGE_EXTS}
    for ext in sample.extensions:
        if ext not in known:
            problems.append(f"{sample.key}.{ext}: expected members json, jpg|png|webp, hm.png; found {ext!r}")
    return problems + _image_problems(sample, doc) + _heatmap_problems(sample, doc, k)


def parse_sample_json(sample: Sample) -> tuple[dict[str, Any] | None, list[str]]:
    """The sample's JSON document (None when absent or unparsable) and the problems found so far."""
    exts = sample.extensions
    if len(set(exts)) != len(exts):
        dupes = sorted({e for e in exts if exts.count(e) > 1})
        return None, [f"{sample.key}: expected each extension once, found duplicates {dupes}"]
    data = sample.get("json")
    if data is None:
        return None, [f"{sample.key}.json: expected a JSON member, found none (members: {list(exts)})"]
    try:
        doc = parse_json(data)
    except (ValueError, UnicodeDecodeError) as e:
        return None, [f"{sample.key}.json: expected valid JSON, found: {e}"]
    if not isinstance(doc, dict):
        return None, [f"{sample.key}.json: expected a JSON object, found {type(doc).__name__}"]
    return doc, []


def check_sample(sample: Sample) -> tuple[dict[str, Any] | None, list[str]]:
    """(parsed JSON or None, problems); no problems means the sample is valid."""
    doc, problems = parse_sample_json(sample)
    if doc is None:
        return None, problems
    problems = schema_errors(schema_for("sample", doc), doc)
    if problems:
        return doc, problems
    return doc, _semantic_problems(sample, doc)


def _sum(items: Iterable[dict[str, Any]], field: str) -> int:
    return sum(int(item[field]) for item in items)


def manifest_problems(doc: Any) -> list[str]:
    """Schema violations, then inconsistent sums, of a parsed ``manifest.json``."""
    problems = schema_errors(schema_for("manifest", doc), doc)
    if problems:
        return problems
    for name, split in sorted(doc["splits"].items()):
        for field in ("samples", "records"):
            total = _sum(split["shards"], field)
            if total != split[field]:
                problems.append(
                    f"/splits/{name}/{field}: expected {total} (sum over shards), found {split[field]}"
                )
        for i, shard in enumerate(split["shards"]):
            if not shard["path"].startswith(f"{name}/"):
                problems.append(f"/splits/{name}/shards/{i}/path: expected {name}/…, found {shard['path']!r}")
            index = shard.get("index")
            if index is not None and index["path"] != shard["path"].removesuffix(".tar") + ".idx":
                problems.append(f"/splits/{name}/shards/{i}/index/path: expected the shard's "
                                f"{shard['path'].removesuffix('.tar')}.idx, found {index['path']!r}")
    problems += _totals_problems(doc)
    return problems


def _totals_problems(doc: dict[str, Any]) -> list[str]:
    totals, splits = doc["totals"], doc["splits"].values()
    expected = {
        "samples": _sum(splits, "samples"),
        "written_records": _sum(splits, "records"),
        "input_records": totals["written_records"] + totals["rejected_records"],
        "rejected_records": sum(doc["rejects"]["by_reason"].values()),
    }
    out = []
    for field, want in expected.items():
        if totals[field] != want:
            out.append(f"/totals/{field}: expected {want}, found {totals[field]}")
    return out


def sidecar_problems(doc: Any) -> list[str]:
    """Schema violations and inconsistent reject counts of a parsed shard sidecar."""
    problems = schema_errors(schema_for("shard", doc), doc)
    if problems:
        return problems
    by_reason: dict[str, int] = {}
    for reject in doc["rejected"]:
        by_reason[reject["reason"]] = by_reason.get(reject["reason"], 0) + 1
    stated = {reason: n for reason, n in doc["rejects"]["by_reason"].items() if n}
    if by_reason != stated:
        found = doc["rejects"]["by_reason"]
        problems.append(f"/rejects/by_reason: expected {by_reason} (counted from 'rejected'), found {found}")
    return problems
