"""The ``300w`` split protocol (standard sets from dlib's two XML files) on a synthetic dlib tree
with every 300W folder and mirrors (``flmprep synth 300w --all-folders``)."""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import simplejpeg
from click.testing import CliRunner

from flmprep.cli import main
from flmprep.errors import AnnotationError, ConfigError
from flmprep.formats import read_dataset, resolve_protocol
from flmprep.formats.split300w import is_mirror, standard_split
from flmprep.records import FaceRecord, ReadReport
from flmprep.schemes import get_scheme
from flmprep.synth import SynthResult, synthesize
from flmprep.synth.marks import find_marks

FOLDERS = {"afw", "helen/trainset", "helen/testset", "lfpw/trainset", "lfpw/testset", "ibug"}
WANT = {
    "afw": "train",
    "helen/trainset": "train",
    "lfpw/trainset": "train",
    "helen/testset": "test_common",
    "lfpw/testset": "test_common",
    "ibug": "test_challenge",
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return synthesize("300w", tmp_path_factory.mktemp("split300w") / "300w", n=14, seed=3, all_folders=True)


def _read(root: Path, protocol: str | None, on_error: str = "fail") -> tuple[list[FaceRecord], ReadReport]:
    report = ReadReport()
    records = list(read_dataset("300w", root, on_error=on_error, report=report, protocol=protocol))  # type: ignore[arg-type]
    return records, report


def _folder(image: str) -> str:
    parts = image.split("/")
    return parts[0] if parts[0] in ("afw", "ibug") else "/".join(parts[:2])


def test_synth_writes_every_folder_kind_and_mirrors(tree: SynthResult) -> None:
    paths = [i.path for i in tree.images]
    assert {_folder(p) for p in paths} == FOLDERS
    mirrored = {_folder(p) for p in paths if posixpath.basename(p).endswith("_mirror.jpg")}
    assert mirrored == FOLDERS  # a mirror in every folder, test folders included
    # both XML files mix folders, as dlib's do
    by_file = {s: {_folder(i.path) for i in tree.images if i.split == s} for s in ("train", "test")}
    assert len(by_file["train"]) > 1 and by_file["test"]


def test_mirrors_are_dlibs_exact_mirrors(tree: SynthResult) -> None:
    flip = get_scheme("ibug68").flip_indices()
    records = {(r.image, r.face): r for r in read_dataset("300w", tree.root)}
    pairs = [
        (i, next(j for j in tree.images if j.path == posixpath.splitext(i.path)[0][:-7] + ".jpg"))
        for i in tree.images
        if i.path.endswith("_mirror.jpg")
    ]
    assert pairs
    for twin, original in pairs:
        width = original.width
        for face in range(len(original.faces)):
            a, b = records[(original.path, face)], records[(twin.path, face)]
            want = a.landmarks[flip].copy()
            want[:, 0] = width - 1 - want[:, 0]
            np.testing.assert_array_equal(b.landmarks, want)
            assert a.bbox is not None and b.bbox is not None
            box_w = a.bbox[2] - a.bbox[0] + 1
            assert (b.bbox[0], b.bbox[1]) == (width - a.bbox[0] - box_w, a.bbox[1])  # dlib: W - left - width


def test_mirror_marks_are_found_where_the_reader_says(tmp_path: Path) -> None:
    result = synthesize("300w", tmp_path / "one", n=2, seed=5, all_folders=True, max_faces=1)
    twin = next(i for i in result.images if i.path.endswith("_mirror.jpg"))
    record = next(r for r in read_dataset("300w", result.root) if r.image == twin.path)
    pixels = simplejpeg.decode_jpeg((result.root / twin.path).read_bytes())
    pos, found = find_marks(pixels, 68)
    assert found.sum() > 40
    assert np.abs(pos[found] - record.landmarks[found]).max() < 0.25


def test_default_protocol_is_dlibs_own_files(tree: SynthResult) -> None:
    default, _ = _read(tree.root, None)
    dlib, _ = _read(tree.root, "dlib")
    assert [r.key for r in default] == [r.key for r in dlib]
    assert {r.split for r in default} == {"train", "test"}
    assert [(r.key, r.split) for r in default] == [(r.key, r.split) for r in tree.records]


def test_protocol_300w_resplits_by_folder_and_drops_test_mirrors(tree: SynthResult) -> None:
    records, report = _read(tree.root, "300w")
    assert not report.rejects
    for r in records:
        assert r.split == WANT[_folder(r.image)], r.image
        assert r.split == "train" or not is_mirror(r.image)
    every = tree.records
    dropped = [r for r in every if WANT[_folder(r.image)] != "train" and r.image.endswith("_mirror.jpg")]
    assert dropped and report.counters["dropped_mirrors"] == len(dropped)
    assert len(records) + len(dropped) == len(every)  # nothing else lost
    # train keeps its mirrors; keys are unchanged
    assert any(is_mirror(r.image) for r in records if r.split == "train")
    assert {r.key for r in records} == {r.key for r in every} - {r.key for r in dropped}
    assert Counter(r.split for r in records).keys() == {"train", "test_common", "test_challenge"}


def test_image_outside_the_folders_is_a_split_missing_reject(tmp_path: Path, tree: SynthResult) -> None:
    root = tmp_path / "copy"
    root.mkdir()
    for name in ("labels_ibug_300W_train.xml", "labels_ibug_300W_test.xml"):
        (root / name).write_bytes((tree.root / name).read_bytes())
    xml = root / "labels_ibug_300W_train.xml"
    first = next(i for i in tree.images if i.split == "train")
    text = xml.read_text("latin-1").replace(f"file='{first.path}'", "file='extra/x.jpg'", 1)
    xml.write_text(text, "latin-1")
    message = r"expected an image in one of 300W's folders afw, helen/trainset"
    with pytest.raises(AnnotationError, match=message) as info:
        _read(root, "300w")
    assert info.value.reason == "split_missing" and "'extra/x.jpg'" in str(info.value)
    records, report = _read(root, "300w", "skip")
    assert [r.reason for r in report.rejects] == ["split_missing"] * len(first.faces)
    assert len(records) + len(report.rejects) + report.counters["dropped_mirrors"] == len(tree.records)
    # the dlib protocol does not care where images lie
    assert len(_read(root, "dlib")[0]) == len(tree.records)


def test_protocol_300w_needs_both_dlib_files(tmp_path: Path, tree: SynthResult) -> None:
    test_xml = (tree.root / "labels_ibug_300W_test.xml").read_bytes()
    (tmp_path / "labels_ibug_300W_test.xml").write_bytes(test_xml)
    message = r"expected both labels_ibug_300W_train\.xml and .*found no labels_ibug_300W_train\.xml"
    with pytest.raises(AnnotationError, match=message):
        _read(tmp_path, "300w")
    assert _read(tmp_path, "dlib")[0]


def test_protocol_is_refused_where_it_does_not_apply(tree: SynthResult) -> None:
    assert resolve_protocol("300w", None) == "dlib" and resolve_protocol("wflw", None) == ""
    with pytest.raises(ConfigError, match="--protocol for 300w: expected one of dlib, 300w, found 'ibug'"):
        read_dataset("300w", tree.root, protocol="ibug")
    for dataset in ("celeba", "celeba-aligned", "wflw", "helen", "pts"):
        with pytest.raises(ConfigError, match=f"expected no protocol for {dataset}"):
            read_dataset(dataset, tree.root, protocol="300w")


@pytest.mark.parametrize(
    ("image", "split"),
    [
        ("afw/1.jpg", "train"),
        ("helen/trainset/a_1.jpg", "train"),
        ("lfpw/trainset/i.png", "train"),
        ("helen/testset/b.jpg", "test_common"),
        ("lfpw/testset/c.png", "test_common"),
        ("ibug/image_003_1.jpg", "test_challenge"),
        ("helen/other/x.jpg", None),
        ("afwx/1.jpg", None),
        ("IBUG/x.jpg", None),
        ("x.jpg", None),
    ],
)
def test_standard_split_by_folder(image: str, split: str | None) -> None:
    assert standard_split(image) == split


def test_is_mirror() -> None:
    assert is_mirror("lfpw/trainset/image_0854_mirror.jpg") and not is_mirror("ibug/mirror.jpg")


def test_cli_scan_protocol(tree: SynthResult) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main, ["scan", "300w", str(tree.root), "--protocol", "300w", "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert set(doc["splits"]) == {"train", "test_common", "test_challenge"}
    assert doc["counters"]["dropped_mirrors"] > 0
    text = runner.invoke(main, ["scan", "300w", str(tree.root), "--protocol", "300w"]).output
    assert "dropped mirrors: " in text
    bad = runner.invoke(main, ["scan", "wflw", str(tree.root), "--protocol", "300w"])
    assert bad.exit_code == 2 and "expected no protocol for wflw" in bad.output
    assert "Traceback" not in bad.output


def test_all_folders_is_deterministic_and_300w_only(tmp_path: Path) -> None:
    def digest(root: Path) -> str:
        h = hashlib.sha256()
        for p in sorted(root.rglob("*")):
            if p.is_file():
                h.update(p.relative_to(root).as_posix().encode() + p.read_bytes())
        return h.hexdigest()

    a = synthesize("300w", tmp_path / "a", n=3, seed=1, all_folders=True).root
    b = synthesize("300w", tmp_path / "b", n=3, seed=1, all_folders=True).root
    assert digest(a) == digest(b)
    with pytest.raises(ConfigError, match="--all-folders: expected dataset 300w"):
        synthesize("wflw", tmp_path / "c", n=3, seed=1, all_folders=True)


def _build(tree: SynthResult, out: Path, *extra: str) -> dict[str, Any]:
    args = ["build", "--dataset", "300w", "--root", str(tree.root), "--out", str(out), "--workers", "1",
            "--out-size", "32", "--samples-per-shard", "8", *extra]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    if "--protocol" in extra and "300w" in extra:
        assert "not records (counted by the reader): dropped mirrors" in result.output
    return json.loads((out / "manifest.json").read_text())


def test_build_with_protocol_300w_writes_the_standard_splits(tmp_path: Path, tree: SynthResult) -> None:
    manifest = _build(tree, tmp_path / "std", "--protocol", "300w")
    records, _ = _read(tree.root, "300w")
    want = Counter(r.split for r in records)
    splits = manifest["splits"]
    assert set(splits) == set(want)
    assert {name: split["samples"] for name, split in splits.items()} == dict(want)
    assert manifest["config"]["protocol"] == "300w"
    _, report = _read(tree.root, "300w")  # what the reader counted is in the manifest, not lost
    assert manifest["reader"] == {k: v for k, v in sorted(report.counters.items()) if v}
    assert manifest["reader"]["dropped_mirrors"] > 0


def test_default_protocol_leaves_the_config_as_before(tmp_path: Path, tree: SynthResult) -> None:
    default = _build(tree, tmp_path / "default")
    explicit = _build(tree, tmp_path / "dlib", "--protocol", "dlib")
    assert "protocol" not in default["config"]
    assert default["config_hash"] == explicit["config_hash"]
    assert set(default["splits"]) == {"train", "test"}


def test_build_refuses_a_protocol_the_dataset_does_not_know(tmp_path: Path) -> None:
    root = synthesize("wflw", tmp_path / "wflw", n=2, seed=0).root
    result = CliRunner().invoke(main, ["build", "--dataset", "wflw", "--root", str(root),
                                       "--out", str(tmp_path / "out"), "--protocol", "300w"])
    assert result.exit_code == 2
    assert "--protocol: expected no protocol for wflw" in result.output
    assert not (tmp_path / "out").exists()
