"""Shards from other tools, with the real packages: Hugging Face ``datasets`` (normal, streaming,
parquet), the webdataset pipeline against the torch dataset, the Lightning data module, and the
DALI index against the standard library's ``tarfile``. One small WFLW build with heatmaps."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from click.testing import CliRunner
from torch.utils.data import DataLoader

from flmprep.cli import main as cli
from flmprep.data import LandmarkDataModule, LandmarkDataset, make_loader, open_dataset, webdataset_pipeline
from flmprep.jsonio import parse_json
from flmprep.verify import verify_output


def build_wflw(tmp: Path, *extra: str, n: int = 24) -> Path:
    """``flmprep synth wflw`` + ``flmprep build --heatmaps`` (64×64 crops, 16×16 maps)."""
    runner = CliRunner()
    done = runner.invoke(cli, ["synth", "wflw", str(tmp / "syn"), "--n", str(n), "--seed", "3"])
    assert done.exit_code == 0, done.output
    out = tmp / "out"
    args = ["build", "--dataset", "wflw", "--root", str(tmp / "syn"), "--out", str(out), "--heatmaps",
            "--heatmap-size", "16", "--out-size", "64", "--no-progress", *extra]
    done = runner.invoke(cli, args)
    assert done.exit_code == 0, done.output
    return out


@pytest.fixture(scope="module")
def wflw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wflw(tmp_path_factory.mktemp("wflw"))


def _tar_docs(out: Path, split: str) -> dict[str, dict[str, Any]]:
    docs = {}
    for url in open_dataset(out).urls(split):
        with tarfile.open(url) as tar:
            for info in tar:
                if info.name.endswith(".json"):
                    member = tar.extractfile(info)
                    assert member is not None
                    docs[info.name[:-5]] = parse_json(member.read())
    return docs


def test_the_build_verifies_with_its_card_and_indexes(wflw: Path) -> None:
    report = verify_output(wflw)
    assert report.problems == () and report.warnings == ()
    assert sorted(p.name for p in (wflw / "train").iterdir()) == ["shard-0000.idx", "shard-0000.json",
                                                                  "shard-0000.tar"]


def test_datasets_loads_every_split_normal_and_streaming_and_writes_parquet(wflw: Path,
                                                                            tmp_path: Path) -> None:
    built = open_dataset(wflw)
    loaded = datasets.load_dataset(str(wflw), cache_dir=str(tmp_path / "hf"))
    assert sorted(loaded) == ["test", "train"]  # the card's configs: sidecars, indexes, manifest not read
    for split in ("train", "test"):
        ds = loaded[split]
        assert ds.num_rows == built.samples(split)
        assert set(ds.column_names) == {"jpg", "hm.png", "json", "__key__", "__url__"}
        docs = _tar_docs(wflw, split)
        row = ds[0]
        assert row["json"] == docs[row["__key__"]]  # every field, with its one type
        assert row["jpg"].size == (64, 64)
        path = tmp_path / f"{split}.parquet"
        ds.to_parquet(str(path))
        table = pq.read_table(path)
        assert table.num_rows == ds.num_rows
        assert table.schema.field("json").type == loaded["train"].features.arrow_schema.field("json").type
    streamed = datasets.load_dataset(str(wflw), streaming=True)
    for split in ("train", "test"):
        keys = [row["__key__"] for row in streamed[split]]
        assert keys == loaded[split]["__key__"]
    seed = loaded["train"][0]["json"]["augment"]["seed"]
    assert isinstance(seed, str) and int(seed) >= 0


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["key"] == b["key"] == b["__key__"] and a["attributes"] == b["attributes"]
    fields = {"key", "attributes", "image", "landmarks", "visible", "transform", "heatmaps"}
    assert set(a) == fields and set(b) == fields | {"__key__"}  # webdataset's map keeps its __key__
    for name in ("image", "landmarks", "visible", "transform", "heatmaps"):
        x, y = np.asarray(a[name]), np.asarray(b[name])
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), name


@pytest.mark.parametrize("split", ["train", "test"])
def test_webdataset_pipeline_and_torch_dataset_agree_on_two_ranks(wflw: Path, split: str) -> None:
    """A one-shard split (train: shuffled, test: in order) on 2 simulated ranks: the same samples
    in the same order, both ranks fed, and equal steps (train) with 2 loader workers."""
    built = open_dataset(wflw)
    assert len(built.shards(split)) == 1
    batch = 2 if split == "train" else 1
    seen: list[str] = []
    for rank in range(2):
        options: dict[str, Any] = dict(batch_size=batch, rank=rank, world=2, seed=4, epoch=1)
        ours = list(LandmarkDataset(wflw, split, **options))
        theirs = list(webdataset_pipeline(wflw, split, **options))
        assert len(ours) == len(theirs) >= 1
        for a, b in zip(ours, theirs, strict=True):
            _same(a, b)
        assert ours[0]["heatmaps"].shape == (98, 16, 16)
        seen += [s["key"] for s in ours]
        steps = len(list(make_loader(LandmarkDataset(wflw, split, **options), 2)))
        wds_steps = len(list(DataLoader(webdataset_pipeline(wflw, split, **options), batch_size=batch,
                                        num_workers=2)))
        assert steps == wds_steps == LandmarkDataset(wflw, split, **options).steps
    assert len(seen) == len(set(seen))
    if split == "test":
        assert len(seen) == built.samples(split)


def test_lightning_data_module_runs_one_epoch_of_a_tiny_model(wflw: Path, tmp_path: Path) -> None:
    from flmprep.data.datamodule import pl

    class Tiny(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Linear(3 * 8 * 8, 98 * 2)
            self.val_batches = 0

        def _loss(self, batch: Any) -> torch.Tensor:
            x = torch.nn.functional.adaptive_avg_pool2d(batch.images.permute(0, 3, 1, 2).float() / 255, 8)
            return torch.nn.functional.mse_loss(self.net(x.flatten(1)), batch.landmarks.flatten(1) / 64)

        def training_step(self, batch: Any, _: int) -> torch.Tensor:
            return self._loss(batch)

        def validation_step(self, batch: Any, _: int) -> None:
            self.val_batches += 1
            self.log("val_loss", self._loss(batch), batch_size=len(batch))

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    module = LandmarkDataModule(wflw, batch_size=4, heatmaps=False)
    model = Tiny()
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                         default_root_dir=str(tmp_path))
    trainer.fit(model, datamodule=module)
    assert trainer.global_step == LandmarkDataset(wflw, "train", batch_size=4, rank=0, world=1).steps == 7
    assert module.val_split == "test" and model.val_batches == 1
    assert torch.isfinite(trainer.callback_metrics["val_loss"])


def test_every_index_entry_is_the_tar_members_offset_and_size(wflw: Path) -> None:
    built = open_dataset(wflw)
    for split in ("train", "test"):
        for url, idx in zip(built.urls(split), built.index_paths(split), strict=True):
            lines = Path(idx).read_text().splitlines()
            with tarfile.open(url) as tar:
                members = [m for m in tar if m.isfile()]
                payloads = [tar.extractfile(m).read() for m in members]  # type: ignore[union-attr]
            assert lines[0] == f"v1.2 {len({m.name.split('.')[0] for m in members})}"
            fields = [f for line in lines[1:] for f in line.split(" ")]
            listed = [tuple(fields[i:i + 4]) for i in range(0, len(fields), 4)]
            tarfile_view = [(m.name.split(".", 1)[1], str(m.offset_data), str(m.size), m.name)
                            for m in members]
            assert listed == tarfile_view
            data = Path(url).read_bytes()  # each (offset, size) holds the member's bytes
            for (_, offset, size, _), payload in zip(listed, payloads, strict=True):
                assert data[int(offset):int(offset) + int(size)] == payload


@pytest.mark.slow
def test_ray_reads_the_tars_of_a_split(wflw: Path) -> None:
    """Ray Data's one-liner, ``file_extensions=["tar"]`` keeping the sidecars and indexes out."""
    import ray
    import ray.data

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        rows = ray.data.read_webdataset(str(wflw / "train"), file_extensions=["tar"]).take_all()
    finally:
        ray.shutdown()
    docs = _tar_docs(wflw, "train")
    assert sorted(r["__key__"] for r in rows) == sorted(docs)
    assert all(r["json"] == docs[r["__key__"]] for r in rows)
    assert rows[0]["jpg"].shape == (64, 64, 3)
