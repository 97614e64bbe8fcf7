"""`--to coco`: pycocotools loads the export, its keypoints equal the sample JSON, the images are
the shards' bytes, and dataset_info.py gives mmpose the scheme's names and flip pairs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pycocotools.coco import COCO

from flmprep.export import export
from flmprep.export.mmpose import dataset_info_source
from flmprep.schemes import SCHEME_NAMES, get_scheme
from tests.helpers.export_builds import image_member, mixed_format_build, split_members, synth_build


@pytest.fixture(scope="module")
def wflw_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_build(tmp_path_factory.mktemp("coco"))[1]


def _check_split(dest: Path, out: Path, split: str, scheme_name: str) -> COCO:
    """Every annotation against its tar sample: keypoints, v, ids, box, transform, image bytes."""
    coco = COCO(str(dest / "annotations" / f"{split}.json"))
    samples = split_members(out, split)
    assert sorted(coco.getImgIds()) == list(range(1, len(samples) + 1))
    scheme = get_scheme(scheme_name)
    (cat,) = coco.loadCats(coco.getCatIds())
    assert cat["keypoints"] == list(scheme.names)
    for n, sample in enumerate(samples, start=1):
        doc = json.loads(sample["json"])
        (ann,) = coco.loadAnns(coco.getAnnIds(imgIds=[n]))
        image = coco.loadImgs([n])[0]
        ext, data = image_member(sample)
        assert image["file_name"] == f"{split}/{doc['key']}.{ext}"
        assert (dest / "images" / image["file_name"]).read_bytes() == data
        assert (image["width"], image["height"]) == (doc["image"]["width"], doc["image"]["height"])
        triples = [ann["keypoints"][i:i + 3] for i in range(0, len(ann["keypoints"]), 3)]
        assert [[x, y] for x, y, _ in triples] == doc["landmarks"]
        assert [v for _, _, v in triples] == [2 if inside else 1 for inside in doc["visible"]]
        w, h = doc["image"]["width"], doc["image"]["height"]
        assert ann["num_keypoints"] == scheme.num_points
        assert (ann["bbox"], ann["area"], ann["iscrowd"], ann["id"]) == ([0, 0, w, h], w * h, 0, n)
        assert (ann["center"], ann["scale"]) == ([w / 2, h / 2], max(w, h) / 200)
        assert ann["flmprep"] == {"key": doc["key"], "source": doc["source"], "transform": doc["transform"]}
    return coco


def test_pycocotools_loads_every_split_with_the_sample_json_keypoints(wflw_out: Path, tmp_path: Path) -> None:
    result = export(wflw_out, "coco", tmp_path / "coco", progress=False)
    manifest = json.loads((wflw_out / "manifest.json").read_text())
    expected = {name: split["samples"] for name, split in manifest["splits"].items()}
    assert {s.split: s.samples for s in result.splits} == expected
    for split in manifest["splits"]:
        _check_split(tmp_path / "coco", wflw_out, split, "wflw98")
    record = json.loads((tmp_path / "coco" / "export.json").read_text())
    assert record["format"] == "coco" and record["source"]["config_hash"] == manifest["config_hash"]
    assert record["splits"]["train"] == {"samples": manifest["splits"]["train"]["samples"],
                                         "path": "annotations/train.json"}


def test_png_grey_webp_and_points_outside_the_crop(tmp_path: Path) -> None:
    out = mixed_format_build(tmp_path / "out")
    export(out, "coco", tmp_path / "coco", progress=False)
    coco = _check_split(tmp_path / "coco", out, "train", "celeba5")
    v = [a["keypoints"][2::3] for a in coco.loadAnns(coco.getAnnIds())]
    assert any(1 in vs for vs in v), "the golden build has points outside the crop"
    outside = [a for a in coco.loadAnns(coco.getAnnIds()) if a["keypoints"][2] == 1]
    assert all(a["keypoints"][0] < 0 for a in outside)  # coordinates kept, not zeroed
    names = sorted(p.name for p in (tmp_path / "coco" / "images" / "train").iterdir())
    assert {n.rsplit(".", 1)[1] for n in names} == {"png", "webp"}


def _mmpose_flip_indices(info: dict[str, Any]) -> list[int]:
    """mmpose's reading of ``swap``: a point's flip index is the id of the point it names, or its
    own id when the swap is empty or itself."""
    name2id = {kp["name"]: i for i, kp in info["keypoint_info"].items()}
    return [name2id[kp["swap"] or kp["name"]] for kp in info["keypoint_info"].values()]


@pytest.mark.parametrize("name", SCHEME_NAMES)
def test_dataset_info_gives_mmpose_the_names_and_the_flip_permutation(name: str) -> None:
    scheme = get_scheme(name)
    namespace: dict[str, Any] = {}
    exec(dataset_info_source(scheme, "some-data"), namespace)  # the file is Python, as mmpose reads it
    info = namespace["dataset_info"]
    assert set(info) >= {"dataset_name", "keypoint_info", "skeleton_info", "joint_weights", "sigmas"}
    assert list(info["keypoint_info"]) == list(range(scheme.num_points))
    assert [kp["name"] for kp in info["keypoint_info"].values()] == list(scheme.names)
    assert [kp["id"] for kp in info["keypoint_info"].values()] == list(range(scheme.num_points))
    expected = list(scheme.flip_permutation or range(scheme.num_points))
    assert _mmpose_flip_indices(info) == expected
    assert info["joint_weights"] == [1.0] * scheme.num_points and info["sigmas"] == []


def test_dataset_info_header_names_the_nme_points() -> None:
    text = dataset_info_source(get_scheme("ibug68"), "300w")
    assert "keypoint_indices=[36, 45]" in text
    assert "leave RandomFlip out" in dataset_info_source(get_scheme("helen194"), "helen")
