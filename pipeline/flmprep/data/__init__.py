"""Read a built dataset from any trainer: the public data API.

Torch-free (importing ``flmprep.data`` needs neither torch nor Spark):

- ``open_dataset(OUT) -> BuiltDataset``: the manifest, each split's shards (``urls``,
  ``index_paths`` for DALI), K, whether the samples carry heatmaps;
- ``webdataset_pipeline(OUT, split, ...)``: a configured ``webdataset.WebDataset``;
- ``plan_epoch``: how a split's samples are shared by ranks and loader workers;
- ``decode_sample``: one raw sample as arrays.

With torch (imported on first use): ``LandmarkDataset`` (a torch ``IterableDataset``),
``make_loader``, ``Batch``, ``collate``; with Lightning: ``LandmarkDataModule``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from flmprep.data.balance import BalanceError, EpochPlan, Segment, ShardInfo, WorkerPlan, plan_epoch
from flmprep.data.built import BuiltDataset, DataError, RawSample, first_sample, open_dataset, read_segment
from flmprep.data.decode import decode_sample
from flmprep.data.wds import webdataset_pipeline

if TYPE_CHECKING:
    from flmprep.data.datamodule import LandmarkDataModule
    from flmprep.data.loader import Batch, EpochLoader, LandmarkDataset, collate, make_loader

_LAZY = {"LandmarkDataset": "loader", "Batch": "loader", "collate": "loader", "make_loader": "loader",
         "EpochLoader": "loader", "LandmarkDataModule": "datamodule"}

__all__ = ["BalanceError", "Batch", "BuiltDataset", "DataError", "EpochLoader", "EpochPlan",
           "LandmarkDataModule", "LandmarkDataset", "RawSample", "Segment", "ShardInfo", "WorkerPlan",
           "collate", "decode_sample", "first_sample", "make_loader", "open_dataset", "plan_epoch",
           "read_segment", "webdataset_pipeline"]


def __getattr__(name: str) -> Any:
    """The torch and Lightning parts, imported when first asked for."""
    if name in _LAZY:
        return getattr(importlib.import_module(f"flmprep.data.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'flmprep.data' has no attribute {name!r}")
