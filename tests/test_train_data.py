"""The streaming loader on real tar shards: segments, shuffling, exact batch counts, clear errors."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from flmprep.train.balance import Segment, plan_epoch
from flmprep.train.data import EpochStream, make_loader, shuffled
from flmprep.train.shardio import DataError, RawSample, read_manifest, read_segment
from tests.helpers.train_shards import write_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    root = tmp_path_factory.mktemp("ds")
    keys = write_dataset(root, {"train": [13, 5, 22], "val": [7]}, size=32, flags=True)
    return root, keys


def test_manifest_and_segments(dataset: tuple[Path, dict[str, list[str]]]) -> None:
    root, keys = dataset
    manifest = read_manifest(root)
    assert manifest.scheme == "celeba5" and manifest.samples("train") == 40
    got = [s.key for s in read_segment(root, Segment("train/shard-0002.tar", 4, 9))]
    assert got == keys["train"][18 + 4 : 18 + 9]
    whole = list(read_segment(root, Segment("train/shard-0000.tar", 0, 13)))
    assert [s.key for s in whole] == keys["train"][:13]
    assert set(whole[0].members) == {"jpg", "json"}


def test_missing_split_and_short_shard_are_named(dataset: tuple[Path, dict[str, list[str]]]) -> None:
    root, _ = dataset
    with pytest.raises(DataError, match=r"expected split 'test', found splits: train, val"):
        read_manifest(root).shards("test")
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
    shards = read_manifest(root).shards("train")
    plan = plan_epoch(shards, world=2, workers=max(1, workers), batch_size=4, seed=7, epoch=3)
    seen: list[str] = []
    for rank in range(2):
        stream = EpochStream(root, plan, rank, 4, shuffle_buffer=5, seed=7, epoch=3)
        batches = list(make_loader(stream, workers, pin_memory=False))
        assert len(batches) == plan.steps[rank] == 5
        for b in batches:
            assert b.images.shape == (4, 32, 32, 3) and b.landmarks.shape == (4, 5, 2)
            assert b.transforms.dtype.is_floating_point and b.transforms.shape == (4, 2, 3)
        seen += [k for b in batches for k in b.keys]
    assert len(seen) == len(set(seen)) == 40
    assert set(seen) <= set(keys["train"])


def test_landmarks_and_transform_come_from_the_json(dataset: tuple[Path, dict[str, list[str]]]) -> None:
    root, _ = dataset
    plan = plan_epoch(
        read_manifest(root).shards("val"),
        world=1,
        workers=1,
        batch_size=7,
        seed=0,
        epoch=0,
        drop_last=False,
        shuffle=False,
    )
    (batch,) = list(make_loader(EpochStream(root, plan, 0, 7, 0, 0, 0), 0, pin_memory=False))
    with tarfile.open(root / "val/shard-0000.tar") as tar:
        member = tar.extractfile(f"{batch.keys[0]}.json")
        assert member is not None
        doc = json.load(member)
    np.testing.assert_allclose(batch.landmarks[0].numpy(), doc["landmarks"], atol=1e-5)
    np.testing.assert_array_equal(batch.transforms[0].numpy(), doc["transform"])
    assert set(batch.attributes[0]) == {"pose", "expression", "illumination", "makeup", "occlusion", "blur"}


def test_bad_sample_json_names_shard_and_key(tmp_path: Path) -> None:
    write_dataset(tmp_path, {"train": [2]}, size=32)
    path = tmp_path / "train/shard-0000.tar"
    with tarfile.open(path) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar}  # type: ignore[union-attr]
    first = sorted(members)[1]
    members[first] = json.dumps({"schema": "other/9"}).encode()
    with tarfile.open(path, "w") as tar:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            tar.addfile(info, io.BytesIO(members[name]))
    plan = plan_epoch(
        read_manifest(tmp_path).shards("train"), world=1, workers=1, batch_size=1, seed=0, epoch=0
    )
    key = first.split(".")[0]
    with pytest.raises(
        DataError, match=rf"train/shard-0000.tar:{key}.json: expected schema 'flmprep.sample/1'"
    ):
        list(make_loader(EpochStream(tmp_path, plan, 0, 1, 0, 0, 0), 0, pin_memory=False))
