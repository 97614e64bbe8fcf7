"""Predict a split, score it in source pixels, and evaluate a saved checkpoint.

Every sample of the split is seen exactly once (``drop_last=False``); each rank
predicts its share, and the per-face results are gathered on every rank.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from flmprep.data import ShardInfo, open_dataset
from flmprep.data.loader import Batch, LandmarkDataset, make_loader
from flmprep.schemes import get_scheme
from flmprep.train import checkpoint, metrics
from flmprep.train.heatmaps import render_heatmaps, to_heatmap_coords
from flmprep.train.losses import REGRESSION, heatmap_mse
from flmprep.train.models import ModelSpec, build_model, decode_points, place, prepare_images
from flmprep.train.runtime import Runtime, autocast, gather

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Predictions:
    """Per-face predictions and ground truth in output pixels, with transforms and attributes."""

    keys: list[str]
    pred: np.ndarray
    truth: np.ndarray
    transforms: np.ndarray
    attributes: list[dict[str, Any]]
    loss: float


@dataclass(frozen=True)
class Report:
    """Scores of one split: overall, per binary attribute, and the mean loss."""

    split: str
    loss: float
    overall: metrics.Metrics
    subsets: dict[str, metrics.Metrics]

    def to_json(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "loss": self.loss,
            **self.overall.to_json(),
            "subsets": {k: v.to_json() for k, v in self.subsets.items()},
        }


def batch_loss(output: torch.Tensor, batch: Batch, spec: ModelSpec, loss: str) -> torch.Tensor:
    """The training loss of one batch (heatmap targets rendered here, on the batch's device)."""
    size = (spec.width, spec.height)
    if spec.kind == "heatmap":
        hm_size = (output.shape[-1], output.shape[-2])
        pts = to_heatmap_coords(batch.landmarks, size, hm_size)
        return heatmap_mse(output, render_heatmaps(pts, batch.visible, hm_size, spec.sigma))
    return REGRESSION[loss](decode_points(output, spec), batch.landmarks, size)


@dataclass(frozen=True)
class EvalSetup:
    """How to run a model over a split."""

    root: Path
    shards: tuple[ShardInfo, ...]
    spec: ModelSpec
    loss: str
    batch_size: int
    workers: int
    amp: bool


@torch.no_grad()
def predict(model: nn.Module, setup: EvalSetup, runtime: Runtime) -> Predictions:
    """Run ``model`` over every sample of the split; results gathered from all ranks."""
    model.eval()
    stream = LandmarkDataset(setup.root, shards=setup.shards, batch_size=setup.batch_size, shuffle=False,
                             drop_last=False, rank=runtime.rank, world=runtime.world, heatmaps=False)
    parts: dict[str, list[Any]] = {"keys": [], "pred": [], "truth": [], "tf": [], "attrs": []}
    loss_sum = 0.0
    for cpu_batch in make_loader(stream, setup.workers, pin_memory=runtime.cuda):
        batch = cpu_batch.to(runtime.device, non_blocking=True)
        with autocast(runtime, setup.amp):
            out = model(prepare_images(batch.images))
        loss_sum += float(batch_loss(out, batch, setup.spec, setup.loss)) * len(batch)
        parts["pred"].append(decode_points(out, setup.spec).cpu().numpy())
        parts["truth"].append(cpu_batch.landmarks.numpy())
        parts["tf"].append(cpu_batch.transforms.numpy())
        parts["keys"] += cpu_batch.keys
        parts["attrs"] += cpu_batch.attributes
    return _merge(gather(runtime, (parts, loss_sum)), setup.spec.num_points)


def _merge(per_rank: list[tuple[dict[str, list[Any]], float]], k: int) -> Predictions:
    def cat(name: str, shape: tuple[int, ...]) -> np.ndarray:
        arrays = [a for parts, _ in per_rank for a in parts[name]]
        return np.concatenate(arrays) if arrays else np.zeros((0, *shape))

    keys = [key for parts, _ in per_rank for key in parts["keys"]]
    attrs = [a for parts, _ in per_rank for a in parts["attrs"]]
    total = sum(loss for _, loss in per_rank)
    return Predictions(
        keys, cat("pred", (k, 2)), cat("truth", (k, 2)), cat("tf", (2, 3)), attrs, total / max(1, len(keys))
    )


def score(preds: Predictions, scheme_name: str, split: str) -> Report:
    """NME / FR / AUC in source pixels, overall and per binary attribute."""
    scheme = get_scheme(scheme_name)
    pred_src = metrics.to_source(preds.pred, preds.transforms)
    truth_src = metrics.to_source(preds.truth, preds.transforms)
    nme = metrics.nme_per_face(pred_src, truth_src, scheme)
    return Report(split, preds.loss, metrics.summarise(nme), metrics.subset_metrics(nme, preds.attributes))


def evaluate_checkpoint(
    data: Path,
    ckpt_path: Path,
    split: str,
    runtime: Runtime,
    batch_size: int = 64,
    workers: int = 2,
    amp: bool = False,
) -> Report:
    """Load a checkpoint and score it on ``split`` of the dataset at ``data``."""
    ckpt = checkpoint.load(ckpt_path, map_location=runtime.device)
    manifest = open_dataset(data)
    if manifest.scheme != ckpt.scheme:
        raise ValueError(f"{ckpt_path}: expected scheme {manifest.scheme!r} (dataset), found {ckpt.scheme!r}")
    model = place(build_model(ckpt.spec), runtime.device)
    model.load_state_dict(ckpt.model)
    setup = EvalSetup(
        manifest.root,
        manifest.shards(split),
        ckpt.spec,
        str(ckpt.config.get("loss", "mse")),
        batch_size,
        workers,
        amp,
    )
    return score(predict(model, setup, runtime), manifest.scheme, split)
