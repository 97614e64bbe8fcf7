"""docs/export.md's Python snippets run against real exports of a synthetic WFLW build: each
snippet's ``export_dir = "wflw-FMT"`` line is pointed at the export of format FMT."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from flmprep.export import export
from flmprep.formats import read_dataset
from tests.helpers.export_builds import split_members, synth_build
from tests.helpers.streaming_mds import load_streaming

DOC = Path(__file__).resolve().parents[1] / "docs" / "export.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
EXPORT_DIR = re.compile(r'^export_dir = "wflw-(coco|litdata|mds)"$', re.M)


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("docs")
    src, out = synth_build(base)
    dests = {fmt: base / f"export-{fmt}" for fmt in ("coco", "litdata", "mds")}
    for fmt, dest in dests.items():
        export(out, fmt, dest, progress=False)
    return {"src": src, "out": out, **dests}


def _snippets() -> list[tuple[str, str]]:
    blocks = BLOCK.findall(DOC.read_text("utf-8"))
    found = [(m.group(1), code) for code in blocks if (m := EXPORT_DIR.search(code))]
    assert len(found) == len(blocks), "every Python snippet names the export it reads"
    return found


def _run(fmt: str, code: str, exports: dict[str, Any]) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(EXPORT_DIR.sub(f"export_dir = {str(exports[fmt])!r}", code), namespace)
    return namespace


def test_the_page_has_the_four_snippets() -> None:
    assert [fmt for fmt, _ in _snippets()] == ["coco", "coco", "litdata", "mds"]


def test_pycocotools_snippet_maps_keypoints_back_to_the_source_annotation(exports: dict[str, Any]) -> None:
    code = _snippets()[0][1]
    ns = _run("coco", code, exports)
    records = {r.key: r for r in read_dataset("wflw", exports["src"])}
    record = records[ns["ann"]["flmprep"]["source"]["record"]]
    np.testing.assert_allclose(ns["source_points"], record.landmarks, atol=2e-3)  # JSON keeps 4 decimals
    assert Path(ns["path"]).is_file() and ns["inside"].dtype == bool


def test_mmpose_config_points_at_the_exported_files(exports: dict[str, Any]) -> None:
    ns = _run("coco", _snippets()[1][1], exports)
    for loader in ("train_dataloader", "val_dataloader"):
        dataset = ns[loader]["dataset"]
        root = Path(dataset["data_root"])
        annotations = json.loads((root / dataset["ann_file"]).read_text())
        first = annotations["images"][0]["file_name"]
        assert (root / dataset["data_prefix"]["img"] / first).is_file()
        assert Path(dataset["metainfo"]["from_file"]).is_file()
    meta: dict[str, Any] = {}
    exec(Path(ns["metainfo"]["from_file"]).read_text(), meta)
    a, b = ns["val_evaluator"]["keypoint_indices"]
    assert (a, b) == (60, 72) and len(meta["dataset_info"]["keypoint_info"]) == 98


def test_litdata_snippet_reads_the_build_bytes(exports: dict[str, Any]) -> None:
    ns = _run("litdata", _snippets()[2][1], exports)
    first = split_members(exports["out"], "train")[0]
    assert ns["image_bytes"] == first["jpg"] and ns["pixels"].shape == (64, 64, 3)
    assert ns["doc"] == json.loads(first["json"]) and ns["visible"].dtype == bool


def test_mds_snippet_reads_the_build_bytes(exports: dict[str, Any]) -> None:
    load_streaming()  # binds `from streaming import StreamingDataset` (see the helper)
    ns = _run("mds", _snippets()[3][1], exports)
    first = split_members(exports["out"], "train")[0]
    assert ns["image_bytes"] == first["jpg"]
    np.testing.assert_array_equal(ns["transform"], np.asarray(json.loads(first["json"])["transform"]))
    assert ns["doc"]["key"] == first["key"].decode()
