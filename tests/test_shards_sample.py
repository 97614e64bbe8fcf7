"""The sample codec: members, canonical JSON that validates against the schema, heatmaps."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flmprep import augment, imageio, targets
from flmprep.records import FaceRecord
from flmprep.shards import naming
from flmprep.shards.sample import SampleCodec, dumps, encode_sample, sample_doc

SCHEMA = json.loads(resources.files("flmprep.schemas").joinpath("sample.schema.json").read_text("utf-8"))
POINTS = np.array([[60.0, 50.0], [100.0, 52.0], [80.0, 75.0], [65.0, 95.0], [97.0, 96.0]], dtype=np.float32)


def _record(**changes: Any) -> FaceRecord:
    values: dict[str, Any] = dict(key="celeba_000042_f0", dataset="celeba", split="train",
                                  image="img_celeba/000042.jpg", face=0, scheme="celeba5", landmarks=POINTS,
                                  bbox=(40.0, 30.0, 120.0, 120.0), attributes={"blur": 0})
    values.update(changes)
    return FaceRecord(**values)


def _pixels(w: int = 160, h: int = 140) -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.integers(0, 255, size=(h, w, 3), dtype=np.uint8)


def _encode(
    codec: SampleCodec, recipe: str = "celeba", view: int = 1, **over: Any
) -> list[tuple[str, bytes]]:
    rec = _record()
    v = augment.render_view(augment.get_recipe(recipe, **over), _pixels(), rec, view=view, build_seed=7,
                            split="train")
    return encode_sample(naming.sample_key(rec.key, view), rec, "train", (160, 140), v, codec)


def test_members_are_sorted_and_json_validates() -> None:
    members = _encode(SampleCodec())
    names = [n for n, _ in members]
    assert names == ["celeba_000042_f0_v01.jpg", "celeba_000042_f0_v01.json"]
    doc = json.loads(members[1][1])
    jsonschema.validate(doc, SCHEMA)
    assert doc["key"] == "celeba_000042_f0_v01"
    assert doc["source"] == {"image": "img_celeba/000042.jpg", "face": 0, "width": 160, "height": 140,
                             "record": "celeba_000042_f0", "bbox": [40.0, 30.0, 120.0, 120.0],
                             "bbox_kind": "annotation"}
    assert doc["image"] == {"format": "jpg", "width": 96, "height": 96, "channels": 3}
    assert doc["schema"] == "flmprep.sample/2"
    assert doc["attributes"] == {"none": True}  # the codec declares no attribute names
    assert "heatmap" not in doc
    decoded = imageio.decode(members[0][1])
    assert (decoded.width, decoded.height) == (96, 96)


def test_json_is_canonical_and_landmarks_follow_the_transform() -> None:
    raw = _encode(SampleCodec())[1][1]
    doc = json.loads(raw)
    assert dumps(doc) == raw  # sorted keys, no spaces: parse + dump is the identity
    m = np.array(doc["transform"] + [[0.0, 0.0, 1.0]])
    expected = (np.c_[POINTS.astype(np.float64), np.ones(5)] @ m.T)[:, :2]
    got = np.array(doc["landmarks"])
    assert np.abs(got - expected).max() <= 5e-5 + 1e-4  # 4 decimals (+ float32 landmarks)
    assert all(len(repr(v).split(".")[1]) <= 4 for p in doc["landmarks"] for v in p)
    xs, ys = got[:, 0], got[:, 1]
    assert doc["bbox"] == [xs.min(), ys.min(), xs.max(), ys.max()]


def test_grey_png_with_heatmaps() -> None:
    codec = SampleCodec(image_format="png", heatmaps=True, heatmap_size=(32, 24), sigma=1.5)
    members = dict(_encode(codec, recipe="300w", view=0))
    assert sorted(members) == ["celeba_000042_f0_v00.hm.png", "celeba_000042_f0_v00.json",
                               "celeba_000042_f0_v00.png"]
    doc = json.loads(members["celeba_000042_f0_v00.json"])
    jsonschema.validate(doc, SCHEMA)
    assert doc["image"]["channels"] == 1
    assert doc["heatmap"] == {"member": "hm.png", "size": [32, 24], "sigma": 1.5, "tiles": [3, 2]}
    maps = targets.decode_heatmaps_png(members["celeba_000042_f0_v00.hm.png"], 5, (32, 24))
    out = doc["image"]["width"], doc["image"]["height"]
    points, _ = targets.heatmaps_to_points(maps)
    want = targets.to_heatmap_coords(np.array(doc["landmarks"]), out, (32, 24))
    assert np.abs(points - want).max() < 0.25


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 300), st.integers(0, 2**63))
def test_same_inputs_give_identical_members(view: int, seed: int) -> None:
    rec = _record()
    recipe = augment.get_recipe("celeba")
    pixels = _pixels()
    runs = []
    for _ in range(2):
        v = augment.render_view(recipe, pixels, rec, view=view, build_seed=seed, split="train")
        key = naming.sample_key(rec.key, view)
        runs.append(encode_sample(key, rec, "train", (160, 140), v, SampleCodec()))
    assert runs[0] == runs[1]
    assert all("." not in name.split(".", 1)[0] for name, _ in runs[0])


def test_sample_keys_never_hold_dots() -> None:
    assert naming.sample_key("celeba_000001_f0", 7) == "celeba_000001_f0_v07"
    assert naming.sample_key("x", 123) == "x_v123"
    with pytest.raises(ValueError, match=r"expected only \[A-Za-z0-9_-\], found 'a.b_v00'"):
        naming.sample_key("a.b", 0)



_RECIPES = [
    ("celeba", {}),
    ("wflw", {"flip_prob": 0.5, "photometric": True}),
    ("300w", {"max_angle": 20.0}),
    ("helen", {"photometric": True}),
]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(_RECIPES), st.integers(0, 40), st.integers(0, 2**40), st.booleans(),
       st.sampled_from([1, 2]), st.dictionaries(st.sampled_from(["blur", "pose", "é"]), st.integers(0, 1)))
def test_sample_json_round_trips_exactly_and_is_canonical(
    recipe_over: tuple[str, dict[str, Any]], view: int, seed: int, heatmaps: bool, reduce: int,
    attributes: dict[str, int],
) -> None:
    """For every recipe's augment dict, flips, photometric factors, heatmaps, reduced decodes
    and non-ASCII attribute names: the JSON parses back to exactly the values of ``sample_doc``
    (every float's shortest digits), validates, and re-dumping the parsed object gives the
    same bytes."""
    name, over = recipe_over
    rec = _record(attributes=attributes)
    pixels = imageio.decode(imageio.encode(_pixels(), "png"), reduce=reduce).pixels
    v = augment.render_view(augment.get_recipe(name, **over), pixels, rec, view=view, build_seed=seed,
                            split="train", reduce=reduce, source_size=(160, 140))
    codec = SampleCodec(heatmaps=heatmaps, heatmap_size=(16, 16))
    key = naming.sample_key(rec.key, view)
    members = dict(encode_sample(key, rec, "train", (160, 140), v, codec))
    raw = members[f"{key}.json"]
    doc = json.loads(raw)
    assert doc == sample_doc(key, rec, "train", (160, 140), v, doc["image"], doc.get("heatmap"))
    assert dumps(doc) == raw
    assert raw.decode() == json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False) or any(
        "e-" in repr(x) for x in _floats(doc))  # the two differ only in how small exponents are spelled
    jsonschema.validate(doc, SCHEMA)
    assert doc["augment"]["reduce"] == reduce


def test_transform_has_no_negative_zero() -> None:
    """An unrotated crop has exact zeros off the diagonal; they are written as 0.0, not -0.0."""
    raw = _encode(SampleCodec())[1][1]
    assert b"-0.0," not in raw and b"-0.0]" not in raw
    assert json.loads(raw)["transform"][1][0] == 0.0


def _floats(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return []


def test_non_finite_values_are_refused() -> None:
    """orjson would write NaN as null: the codec refuses it and names where it is."""
    rec = _record()
    v = augment.render_view(augment.get_recipe("celeba"), _pixels(), rec, view=0, build_seed=1, split="train")
    bad = augment.View(v.image, np.full_like(v.landmarks, np.nan), v.visible, v.matrix, v.params, v.augment)
    with pytest.raises(ValueError, match=r"sample\.landmarks: expected finite numbers"):
        encode_sample("k_v00", rec, "train", (160, 140), bad, SampleCodec())
    with pytest.raises(ValueError, match=r"sample\.augment\.angle: expected finite numbers .* inf"):
        dumps({"augment": {"angle": float("inf")}, "photometric": None})
    assert dumps({"b": None, "a": [1.5, 2]}) == b'{"a":[1.5,2],"b":null}'
    with pytest.raises(ValueError, match="sample JSON"):
        dumps({"seed": 2**70})


def test_rgbx_views_encode_like_rgb() -> None:
    """Several views of a record warp RGBX (faster) and encode it as is: the same JPEG bytes
    as the RGB view, and ``View.pixels`` is RGB."""
    rec = _record()
    recipe = augment.get_recipe("celeba")
    rgb = _pixels()
    rgbx = imageio.decode(imageio.encode(rgb, "png"), channels=4).pixels
    a = augment.render_view(recipe, rgb, rec, view=3, build_seed=2, split="test")
    b = augment.render_view(recipe, rgbx, rec, view=3, build_seed=2, split="test")
    assert a.image.shape[2] == 3 and b.image.shape[2] == 4
    assert np.array_equal(a.pixels, b.pixels)
    assert imageio.encode(a.image, "jpg", 95) == imageio.encode(b.image, "jpg", 95)


def _types(value: Any) -> Any:
    """The JSON type tree of a value: what a column store infers (lists by their items' types)."""
    if isinstance(value, dict):
        return {k: _types(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        items = {json.dumps(_types(v), sort_keys=True) for v in value}
        assert len(items) <= 1, f"a list mixing types: {value!r}"
        return ["list", *(json.loads(t) for t in items)]
    return type(value).__name__


@pytest.mark.parametrize("recipe", augment.RECIPES)
def test_every_field_has_one_type_in_every_sample_of_every_split(recipe: str) -> None:
    """Sample /2: train views (jittered, photometric) and canonical views of records with and
    without a source box give documents of one type tree, with no null and no empty object."""
    codec = SampleCodec(heatmaps=True, heatmap_size=(16, 16), attributes=("blur", "pose"))
    over = {"photometric": True} if recipe != "300w" else {}
    rec = augment.get_recipe(recipe, **over)
    trees = set()
    for split in ("train", "test"):
        for bbox, attrs in (((40.0, 30.0, 120.0, 120.0), {"blur": 1}), (None, {})):
            record = _record(bbox=bbox, attributes=attrs, split=split)
            for view in range(2 if split == "train" else 1):
                v = augment.render_view(rec, _pixels(), record, view=view, build_seed=2**40, split=split)
                key = naming.sample_key(record.key, view)
                raw = dict(encode_sample(key, record, split, (160, 140), v, codec))[f"{key}.json"]
                doc = json.loads(raw)
                jsonschema.validate(doc, SCHEMA)
                assert b"null" not in raw and b"{}" not in raw and b"[]" not in raw
                assert int(doc["augment"]["seed"]) == augment.seed_for(2**40, record.key, view)
                trees.add(json.dumps(_types(doc), sort_keys=True))
    assert len(trees) == 1, trees


def test_attributes_carry_every_declared_name() -> None:
    codec = SampleCodec(attributes=("blur", "pose"))
    doc = json.loads(dict(_encode(codec))["celeba_000042_f0_v01.json"])
    assert doc["attributes"] == {"blur": 0, "pose": -1}  # pose: not in the record's annotation


def test_a_record_without_a_box_gets_its_landmarks_extent() -> None:
    rec = _record(bbox=None)
    v = augment.render_view(augment.get_recipe("celeba"), _pixels(), rec, view=0, build_seed=1, split="test")
    doc = json.loads(dict(encode_sample("celeba_000042_f0_v00", rec, "test", (160, 140), v, SampleCodec()))[
        "celeba_000042_f0_v00.json"])
    assert doc["source"]["bbox_kind"] == "landmarks"
    assert doc["source"]["bbox"] == [60.0, 50.0, 100.0, 96.0]


def test_replay_reads_the_photometric_field_of_both_formats() -> None:
    """``replay_view`` gives the stored pixels from a /2 ``augment`` and from its /1 form."""
    rec = _record()
    recipe = augment.get_recipe("celeba", photometric=True)
    for split in ("train", "test"):
        v = augment.render_view(recipe, _pixels(), rec, view=1 if split == "train" else 0, build_seed=5,
                                split=split)
        stored = json.loads(json.dumps(v.augment))
        old = {**stored, "seed": int(stored["seed"]),
               "photometric": None if not stored["photometric"]["applied"] else
               {k: x for k, x in stored["photometric"].items() if k != "applied"}}
        for doc in (stored, old):
            again = augment.replay_view(recipe, _pixels(), rec, doc)
            assert np.array_equal(again.pixels, v.pixels)
