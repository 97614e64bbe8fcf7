"""The JSON Schemas (schemas/*.schema.json) and flmprep.validate: strictness, the checks beyond
JSON Schema, and agreement between the fast (jsonschema-rs) and the explaining validator."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from flmprep import validate
from flmprep.shards.reader import Sample
from tests.helpers.shards import as_v1, dumps, sample_doc, sample_members, write_dataset

ROOT = Path(__file__).resolve().parents[1]


def _sample(
    doc: dict[str, Any], *, heatmap: bool = False, extra: list[tuple[str, bytes]] | None = None
) -> Sample:
    members = sample_members(doc, heatmap=heatmap)
    members += extra or []
    key = doc["key"]
    return Sample(key, 0, tuple((name[len(key) + 1 :], data) for name, data in members))


def _doc(**kw: Any) -> dict[str, Any]:
    return sample_doc("celeba_000123_f0", 7, **kw)


@pytest.mark.parametrize("name", validate.SCHEMAS)
def test_schemas_are_draft_2020_12_and_ship_with_the_package(name: str) -> None:
    on_disk = json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(on_disk)
    assert on_disk["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert validate.load_schema(name) == on_disk


@pytest.mark.parametrize("scheme", ["celeba5", "ibug68", "wflw98", "helen194"])
@pytest.mark.parametrize("heatmap", [False, True])
def test_a_well_formed_sample_validates(scheme: str, heatmap: bool) -> None:
    doc, problems = validate.check_sample(_sample(_doc(scheme=scheme), heatmap=heatmap))
    assert problems == [] and doc is not None


def _set(doc: dict[str, Any], pointer: str, value: Any) -> None:
    *parents, last = pointer.strip("/").split("/")
    target: Any = doc
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    index: int | str = int(last) if isinstance(target, list) else last
    if value is _DELETE:
        del target[index]
    elif isinstance(target, list) and index == len(target):
        target.append(value)
    else:
        target[index] = value


_DELETE = object()
SCHEMA_CASES = [
    ("/extra", 1, "/: Additional properties are not allowed ('extra' was unexpected)"),
    ("/schema", "flmprep.sample/3", "/schema: expected 'flmprep.sample/2', found 'flmprep.sample/3'"),
    ("/key", "celeba.000123_f0_v07", "/key: expected a string matching"),
    ("/key", "celeba_000123_f0", "/key: expected a string matching"),
    ("/scheme", "ibug69", "/scheme: expected one of"),
    ("/landmarks/1", [1.0, 2.0, 3.0], "/landmarks/1: expected max 2 items, found 3"),
    ("/landmarks/0/1", "3", "/landmarks/0/1: expected type number, found '3'"),
    ("/visible/2", 1, "/visible/2: expected type boolean, found 1"),
    ("/transform/2", [0.0, 0.0, 1.0], "/transform: expected max 2 items, found 3"),
    ("/transform/0/2", None, "/transform/0/2: expected type number, found None"),
    ("/bbox/3", _DELETE, "/bbox: expected min 4 items, found 3"),
    ("/image/channels", 4, "/image/channels: expected one of 1, 3, found 4"),
    ("/image/format", "gif", "/image/format: expected one of"),
    ("/image/width", 0, "/image/width: expected minimum 1, found 0"),
    ("/augment/seed", 1234, "/augment/seed: expected type string, found 1234"),
    ("/augment/seed", "-1", "/augment/seed: expected a string matching"),
    ("/augment/photometric", None, "/augment/photometric: expected type object, found None"),
    ("/augment/photometric/applied", _DELETE, "/augment/photometric: 'applied' is a required property"),
    ("/augment/reduce", _DELETE, "/augment: 'reduce' is a required property"),
    ("/source/bbox", None, "/source/bbox: expected type array, found None"),
    ("/source/bbox_kind", "guess", "/source/bbox_kind: expected one of"),
    ("/augment/flip", "no", "/augment/flip: expected type boolean"),
    ("/augment/photometric", _DELETE, "/augment: 'photometric' is a required property"),
    ("/augment/extra", 0, "/augment: Additional properties are not allowed"),
    ("/source/record", "a.b", "/source/record: expected a string matching"),
    ("/source/bbox", [1, 2], "/source/bbox:"),
    ("/attributes", [], "/attributes:"),
    ("/attributes", {}, "/attributes:"),
    ("/attributes", {"none": False}, "/attributes:"),
    ("/attributes", {"blur": True}, "/attributes:"),
]


@pytest.mark.parametrize(("pointer", "value", "message"), SCHEMA_CASES)
def test_schema_violations_are_reported_with_pointer(pointer: str, value: Any, message: str) -> None:
    doc = _doc()
    _set(doc, pointer, value)
    assert not validate.is_schema_valid("sample", doc)
    problems = validate.schema_errors("sample", doc)
    assert any(p.startswith(message) for p in problems), problems


def test_heatmap_settings_are_closed_and_strict() -> None:
    doc = _doc()
    doc["heatmap"] = {"member": "hm.npy", "size": [64, 64], "sigma": 0, "tiles": [3, 2]}
    problems = validate.schema_errors("sample", doc)
    assert any(p.startswith("/heatmap/member: expected 'hm.png'") for p in problems)
    assert any(p.startswith("/heatmap/sigma: expected exclusiveMinimum 0") for p in problems)


SEMANTIC_CASES = [
    (lambda d: d["landmarks"].pop(), "/landmarks: expected 5 points for scheme celeba5, found 4 landmarks"),
    (lambda d: d["image"].update(width=95), "celeba_000123_f0_v07.jpg: expected 95×96 (image), found 96×96"),
    (lambda d: d["image"].update(format="png"), "image: expected one member celeba_000123_f0_v07.png, found"),
    (
        lambda d: d["augment"].update(view=8),
        "/key: expected 'celeba_000123_f0_v08' (source.record + _v + view)",
    ),
    (lambda d: d["landmarks"][0].__setitem__(0, 12345.5), "/landmarks: expected finite numbers"),
    (lambda d: d.update(bbox=[5, 5, 4, 6]), "/bbox: expected x_min <= x_max"),
    (lambda d: d["image"].update(channels=1), "celeba_000123_f0_v07.jpg: expected 1 channels, found 3"),
]


@pytest.mark.parametrize(("mutate", "message"), SEMANTIC_CASES)
def test_checks_beyond_the_schema(mutate: Any, message: str) -> None:
    doc = _doc()
    members = sample_members(copy.deepcopy(doc))
    mutate(doc)
    text = dumps(doc).replace(b"12345.5", b"1e999")  # parses to infinity
    members = [(n, text if n.endswith(".json") else d) for n, d in members]
    sample = Sample(doc["key"], 0, tuple((n.split(".", 1)[1], d) for n, d in members))
    _, problems = validate.check_sample(sample)
    assert any(p.startswith(message) for p in problems), problems


@pytest.mark.parametrize(("fmt", "channels"), [("png", 1), ("png", 3), ("jpg", 1)])
def test_grey_and_png_images_validate(fmt: str, channels: int) -> None:
    sample = _sample(_doc(fmt=fmt, channels=channels))
    assert validate.check_sample(sample)[1] == []


def test_member_level_problems() -> None:
    doc = _doc()
    renamed = Sample("other_key_v07", 0, _sample(doc).members)
    assert "/key: expected 'other_key_v07' (the member key)" in validate.check_sample(renamed)[1][0]
    extra = _sample(_doc(), extra=[("celeba_000123_f0_v07.txt", b"hi")])
    assert any("found 'txt'" in p for p in validate.check_sample(extra)[1])
    dup = Sample(doc["key"], 0, (*_sample(_doc()).members, ("json", b"{}")))
    assert validate.check_sample(dup)[1] == [
        f"{doc['key']}: expected each extension once, found duplicates ['json']"
    ]
    no_json = Sample("k_v00", 0, (("jpg", b"x"),))
    assert "expected a JSON member, found none" in validate.check_sample(no_json)[1][0]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"a": NaN}', "expected a finite JSON number, found NaN"),
        (b"{", "expected valid JSON"),
        (b"[1]", "found list"),
    ],
)
def test_bad_json_members(payload: bytes, message: str) -> None:
    _, problems = validate.check_sample(Sample("k_v00", 0, (("json", payload),)))
    assert message in problems[0]


def test_heatmap_member_iff_heatmap_setting() -> None:
    with_hm = _sample(_doc(), heatmap=True)
    without_json_setting = Sample(
        with_hm.key, 0, tuple((e, dumps(_doc()) if e == "json" else d) for e, d in with_hm.members)
    )
    assert any("expected no heatmap member" in p for p in validate.check_sample(without_json_setting)[1])
    doc = _doc()
    doc["heatmap"] = {"member": "hm.png", "size": [16, 16], "sigma": 2.5, "tiles": [3, 2]}
    missing = _sample(doc)
    assert any("heatmap: expected member" in p for p in validate.check_sample(missing)[1])


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-1e3, 1e3) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
_paths = [p for p, _, _ in SCHEMA_CASES if not p.endswith("extra")] + ["/image", "/heatmap", "/source/face"]


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(_paths), _json)
def test_fast_and_explaining_validators_agree(pointer: str, value: Any) -> None:
    doc = _doc()
    try:
        _set(doc, pointer, value)
    except (KeyError, IndexError, TypeError):
        return
    fast = validate.is_schema_valid("sample", doc)
    slow = not list(Draft202012Validator(validate.load_schema("sample")).iter_errors(doc))
    assert fast == slow
    assert (validate.schema_errors("sample", doc) == []) == slow


@pytest.mark.parametrize("version", [1, 2])
def test_manifest_and_sidecar_of_the_helper_validate(tmp_path: Path, version: int) -> None:
    manifest = write_dataset(tmp_path, {"train": [2, 1], "val": [1]}, version=version)
    assert manifest["schema"] == f"flmprep.manifest/{version}"
    assert validate.manifest_problems(manifest) == []
    sidecar = json.loads((tmp_path / "train" / "shard-0001.json").read_bytes())
    assert sidecar["schema"] == f"flmprep.shard/{version}"
    assert validate.sidecar_problems(sidecar) == []


@pytest.mark.parametrize("heatmap", [False, True])
def test_a_sample_of_the_first_format_still_validates(heatmap: bool) -> None:
    """Builds before sample /2 stay readable: their samples check against sample-v1."""
    doc = as_v1(_doc())
    assert validate.schema_for("sample", doc) == "sample-v1"
    parsed, problems = validate.check_sample(_sample(doc, heatmap=heatmap))
    assert problems == [] and parsed is not None and parsed["schema"] == "flmprep.sample/1"
    assert validate.schema_errors("sample", doc)  # not a /2 sample


MANIFEST_CASES = [
    ("/config_hash", "ABC", "/config_hash: expected a string matching ^[0-9a-f]{64}$"),
    ("/splits/train/shards/0/sha256", "0" * 63, "/splits/train/shards/0/sha256: expected a string matching"),
    (
        "/splits/train/shards/0/path",
        "train/part-0.tar",
        "/splits/train/shards/0/path: expected a string matching",
    ),
    ("/splits/train/shards/0/extra", 1, "/splits/train/shards/0: Additional properties"),
    ("/totals/samples", _DELETE, "/totals: 'samples' is a required property"),
    ("/schema", "flmprep.manifest/0", "/schema: expected 'flmprep.manifest/2'"),
    ("/versions", _DELETE, "/: 'versions' is a required property"),
    ("/versions/numpy", _DELETE, "/versions: 'numpy' is a required property"),
    ("/splits/train/shards/0/index", _DELETE, "/splits/train/shards/0: 'index' is a required property"),
    ("/splits/train/shards/0/index/path", "train/shard-0001.idx",
     "/splits/train/shards/0/index/path: expected the shard's train/shard-0000.idx"),
    ("/created", "2026-01-01", "/: Additional properties are not allowed"),
    ("/rejects/by_reason/Bad Reason", 1, "/rejects/by_reason: expected a string matching"),
    ("/splits/train/samples", 4, "/splits/train/samples: expected 3 (sum over shards), found 4"),
    ("/totals/samples", 5, "/totals/samples: expected 4, found 5"),
    ("/totals/input_records", 3, "/totals/input_records: expected 4, found 3"),
    ("/totals/rejected_records", 1, "/totals/input_records: expected 5, found 4"),
    ("/splits/val/shards/0/path", "train/shard-0009.tar", "/splits/val/shards/0/path: expected val/…"),
]


@pytest.mark.parametrize(("pointer", "value", "message"), MANIFEST_CASES)
def test_manifest_problems(tmp_path: Path, pointer: str, value: Any, message: str) -> None:
    manifest = write_dataset(tmp_path, {"train": [2, 1], "val": [1]})
    _set(manifest, pointer, value)
    problems = validate.manifest_problems(manifest)
    assert any(p.startswith(message) for p in problems), problems


def test_sidecar_problems(tmp_path: Path) -> None:
    write_dataset(tmp_path, {"train": [1]})
    sidecar = json.loads((tmp_path / "train" / "shard-0000.json").read_bytes())
    sidecar["rejected"] = [
        {"key": "k", "reason": "missing_image", "message": "m", "origin": "o", "split": "train"}
    ]
    assert validate.sidecar_problems(sidecar) == [
        "/rejects/by_reason: expected {'missing_image': 1} (counted from 'rejected'), found {}"
    ]
    sidecar["name"] = "shard-1.tar"
    assert validate.sidecar_problems(sidecar)[0].startswith("/name: expected a string matching")
