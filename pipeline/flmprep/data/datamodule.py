"""A Lightning ``LightningDataModule`` over a build (the ``[lightning]`` extra).

It uses ``lightning.pytorch`` when installed, else ``pytorch_lightning``; give it to a trainer of
the same package. Ranks come from the trainer; each split is a ``LandmarkDataset`` batched by
``make_loader``, so every rank runs the same number of training steps, and each training epoch
is reshuffled (the loader advances the epoch at each pass, starting at the trainer's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flmprep.data.built import BuiltDataset, open_dataset
from flmprep.data.loader import SHUFFLE_BUFFER, EpochLoader, LandmarkDataset, make_loader

try:
    import lightning.pytorch as pl
except ImportError:
    import pytorch_lightning as pl


class LandmarkDataModule(pl.LightningDataModule):
    """``train``/``val``/``test`` loaders over the splits of the build at ``root``. ``val_split``
    defaults to ``val`` when the build has it, else ``test``; ``test_split`` to ``test``; a split
    set to "" (or absent) gives no loader."""

    def __init__(self, root: str | Path, *, batch_size: int = 32, num_workers: int = 0,
                 train_split: str = "train", val_split: str | None = None, test_split: str | None = None,
                 seed: int = 0, shuffle_buffer: int = SHUFFLE_BUFFER, heatmaps: bool | None = None,
                 pin_memory: bool = False) -> None:
        super().__init__()
        self.built: BuiltDataset = open_dataset(root)
        have = {name for name, shards in self.built.splits.items() if shards}
        self.train_split = train_split
        default_val = next((s for s in ("val", "test") if s in have), "")
        self.val_split = default_val if val_split is None else val_split
        self.test_split = test_split if test_split is not None else ("test" if "test" in have else "")
        self.batch_size, self.num_workers, self.pin_memory = batch_size, num_workers, pin_memory
        self.seed, self.shuffle_buffer, self.heatmaps = seed, shuffle_buffer, heatmaps

    def _ranks(self) -> tuple[int, int]:
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return 0, 1
        return int(trainer.global_rank), int(trainer.world_size)

    def _loader(self, split: str, train: bool) -> EpochLoader:
        trainer = getattr(self, "trainer", None)
        epoch = int(trainer.current_epoch) if (trainer is not None and train) else 0
        rank, world = self._ranks()
        dataset = LandmarkDataset(self.built, split, batch_size=self.batch_size, shuffle=train,
                                  seed=self.seed, epoch=epoch, shuffle_buffer=self.shuffle_buffer,
                                  heatmaps=self.heatmaps, rank=rank, world=world)
        return make_loader(dataset, self.num_workers, pin_memory=self.pin_memory)

    def train_dataloader(self) -> EpochLoader:
        return self._loader(self.train_split, train=True)

    def val_dataloader(self) -> Any:
        return self._loader(self.val_split, train=False) if self.val_split else []

    def test_dataloader(self) -> Any:
        return self._loader(self.test_split, train=False) if self.test_split else []
