"""The torch dataset (``flmprep.data.LandmarkDataset``) on real tar shards: segments, shuffling,
exact batch counts, /1 and /2 samples, clear errors."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from flmprep.data import DataError, RawSample, Segment, open_dataset, read_segment
from flmprep.data.decode import shuffled
from flmprep.data.loader import LandmarkDataset, make_loader
from tests.helpers import golden
from tests.helpers import shards as legacy
from tests.helpers.train_shards import write_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    root = tmp_path_factory.mktemp("ds")
    keys = write_dataset(root, {"train": [13, 5, 22], "val": [7]}, size=32, flags=True)
    return root, keys


def test_manifest_and_segments(dataset: tuple[Path, dict[str, list[str]]]) -> None:
    root, keys = dataset
    manifest = open_dataset(root)
    assert manifest.scheme == "celeba5" and manifest.samples("train") == 40
    got = [s.key for s in read_segment(root, Segment("train/shard-0002.tar", 4, 9))]
    assert got == keys["train"][18 + 4 : 18 + 9]
    whole = list(read_segment(root, Segment("train/shard-0000.tar", 0, 13)))
    assert [s.key for s in whole] == keys["train"][:13]
    assert set(whole[0].members) == {"jpg", "json"}


def test_missing_split_and_short_shard_are_named(dataset: tuple[Path, dict[str, list[str]]]) -> None:
    root, _ = dataset
    with pytest.raises(DataError, match=r"expected split 'test', found splits: train, val"):
        open_dataset(root).shards("test")
    with pytest.raises(DataError, match=r"shard-0001.tar: expected at least 6 samples \(manifest\), found 5"):
        list(read_segment(root, Segment("train/shard-0001.tar", 0, 6)))


def test_shuffle_is_a_seeded_permutation() -> None:
    items = [RawSample(str(i), {}, "") for i in range(50)]

    def run(seed: int) -> list[str]:
        return [s.key for s in shuffled(iter(items), 8, np.random.default_rng(seed))]

    assert sorted(run(1), key=int) == [s.key for s in items]
    assert run(1) == run(1) and run(1) != run(2)


@pytest.mark.parametrize("workers", [0, 2])
def test_loader_yields_exactly_the_planned_batches(
    dataset: tuple[Path, dict[str, list[str]]], workers: int
) -> None:
    root, keys = dataset
    seen: list[str] = []
    for rank in range(2):
        stream = LandmarkDataset(root, "train", batch_size=4, shuffle_buffer=5, seed=7, epoch=3, rank=rank,
                                 world=2)
        loader = make_loader(stream, workers, pin_memory=False)
        batches = list(loader)
        assert len(batches) == stream.steps == len(loader) == 5 and len(stream) == 20
        for b in batches:
            assert b.images.shape == (4, 32, 32, 3) and b.landmarks.shape == (4, 5, 2)
            assert b.transforms.dtype.is_floating_point and b.transforms.shape == (4, 2, 3)
        seen += [k for b in batches for k in b.keys]
    assert len(seen) == len(set(seen)) == 40
    assert set(seen) <= set(keys["train"])


def test_landmarks_and_transform_come_from_the_json(dataset: tuple[Path, dict[str, list[str]]]) -> None:
    root, _ = dataset
    (batch,) = list(make_loader(LandmarkDataset(root, "val", batch_size=7, rank=0, world=1)))
    with tarfile.open(root / "val/shard-0000.tar") as tar:
        member = tar.extractfile(f"{batch.keys[0]}.json")
        assert member is not None
        doc = json.load(member)
    np.testing.assert_allclose(batch.landmarks[0].numpy(), doc["landmarks"], atol=1e-5)
    np.testing.assert_array_equal(batch.transforms[0].numpy(), doc["transform"])
    assert set(batch.attributes[0]) == {"pose", "expression", "illumination", "makeup", "occlusion", "blur"}
    assert batch.heatmaps is None and len(batch) == 7


def _corrupt_json(root: Path, count: int) -> list[str]:
    """Replace the JSON of the first ``count`` samples of train/shard-0000.tar; their keys."""
    path = root / "train/shard-0000.tar"
    with tarfile.open(path) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar}  # type: ignore[union-attr]
    names = sorted(n for n in members if n.endswith(".json"))[:count]
    for name in names:
        members[name] = json.dumps({"schema": "other/9"}).encode()
    golden.write_shard(path, sorted(members.items()))
    return [n.removesuffix(".json") for n in names]


def test_a_corrupt_sample_is_skipped_named_and_its_place_kept_when_training(tmp_path: Path) -> None:
    write_dataset(tmp_path, {"train": [4]}, size=32)
    (key,) = _corrupt_json(tmp_path, 1)
    stream = LandmarkDataset(tmp_path, "train", batch_size=2, rank=0, world=1, shuffle_buffer=0)
    batches = list(make_loader(stream))
    assert len(batches) == stream.steps == 2 and sum(len(b) for b in batches) == 4
    skipped = [m for b in batches for m in b.skipped]
    assert skipped == [f"train/shard-0000.tar:{key}.json: expected schema 'flmprep.sample/1' or "
                       "'flmprep.sample/2', found 'other/9'"]
    keys = [k for b in batches for k in b.keys]
    assert key not in keys and len(set(keys)) == 3  # one good sample stands in for the corrupt one


def test_a_corrupt_sample_is_left_out_when_evaluating(tmp_path: Path) -> None:
    write_dataset(tmp_path, {"train": [4]}, size=32)
    (key,) = _corrupt_json(tmp_path, 1)
    stream = LandmarkDataset(tmp_path, "train", batch_size=3, rank=0, world=1, shuffle=False)
    batches = list(make_loader(stream))
    keys = [k for b in batches for k in b.keys]
    assert len(keys) == len(set(keys)) == 3 and key not in keys
    assert [m.split(":")[1] for b in batches for m in b.skipped] == [f"{key}.json"]


def test_a_share_of_only_corrupt_samples_stops_the_loader(tmp_path: Path) -> None:
    write_dataset(tmp_path, {"train": [2]}, size=32)
    keys = _corrupt_json(tmp_path, 2)
    first = rf"found 2 corrupt ones, the first: train/shard-0000.tar:{keys[0]}.json"
    with pytest.raises(DataError, match=first):
        list(make_loader(LandmarkDataset(tmp_path, "train", batch_size=1, rank=0, world=1)))


def test_samples_of_both_formats_decode_alike(tmp_path: Path) -> None:
    """A /1 build reads like a /2 one: same arrays, attributes without the /2 placeholder."""
    out = {}
    for version in (1, 2):
        legacy.write_dataset(tmp_path / f"v{version}", {"test": [3]}, heatmap=True, version=version)
        out[version] = list(LandmarkDataset(tmp_path / f"v{version}", "test", batch_size=3, rank=0, world=1,
                                            heatmaps=True))
    for old, new in zip(out[1], out[2], strict=True):
        assert old["key"] == new["key"] and old["attributes"] == new["attributes"] == {}
        for name in ("image", "landmarks", "visible", "transform", "heatmaps"):
            assert np.array_equal(old[name].numpy(), new[name].numpy()), name
    assert out[2][0]["heatmaps"].shape == (5, 16, 16) and out[2][0]["image"].dtype.is_floating_point is False


def test_each_pass_of_the_loader_is_the_next_epoch(dataset: tuple[Path, dict[str, list[str]]]) -> None:
    root, _ = dataset
    stream = LandmarkDataset(root, "train", batch_size=4, seed=1, rank=0, world=1)
    loader = make_loader(stream)
    first, second = ([k for b in loader for k in b.keys] for _ in range(2))
    assert stream.epoch == 1 and sorted(first) == sorted(second) and first != second
