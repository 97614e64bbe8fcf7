"""Predict a split, score it in source pixels, and evaluate a saved checkpoint.

Every sample of the split is seen exactly once (``drop_last=False``); each rank
predicts its share, and the per-face results are gathered on every rank. Scores follow the
scheme's protocol (``metrics.protocol_for``). A 300W dataset built with the standard
protocol has no ``test`` split but ``test_common`` and ``test_challenge``: evaluating
``test`` there scores both, with rows ``common``, ``challenge`` and ``full`` (both together).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from flmprep.data import BuiltDataset, ShardInfo, open_dataset
from flmprep.data.loader import Batch, LandmarkDataset, make_loader
from flmprep.schemes import get_scheme
from flmprep.train import checkpoint, metrics
from flmprep.train.errors import CheckpointError
from flmprep.train.heatmaps import render_heatmaps, to_heatmap_coords
from flmprep.train.losses import REGRESSION, cascade, heatmap_mse
from flmprep.train.models import ModelSpec, build_model, decode_points, place, prepare_images, unit_to_pixels
from flmprep.train.runtime import Runtime, autocast, gather

log = logging.getLogger(__name__)

#: Splits that stand for several manifest splits: row name → manifest split (300W's protocol).
COMPOSITE_SPLITS: dict[str, tuple[tuple[str, str], ...]] = {
    "test": (("common", "test_common"), ("challenge", "test_challenge")),
}
FULL = "full"


@dataclass(frozen=True)
class Predictions:
    """Per-face predictions and ground truth in output pixels, with transforms and attributes."""

    keys: list[str]
    pred: np.ndarray
    truth: np.ndarray
    transforms: np.ndarray
    attributes: list[dict[str, Any]]
    loss: float
    #: One message per corrupt sample the loader skipped (``<split>/shard-NNNN.tar:KEY: …``).
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    """Scores of one split: overall, per binary attribute, the mean loss, the protocol, and
    for a composite split (``COMPOSITE_SPLITS``) each part plus ``full``."""

    split: str
    loss: float
    protocol: metrics.Protocol
    overall: metrics.Metrics
    subsets: dict[str, metrics.Metrics]
    parts: dict[str, metrics.Metrics] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "loss": self.loss,
            "skipped": list(self.skipped),
            "protocol": self.protocol.to_json(),
            **self.overall.to_json(),
            "subsets": {k: v.to_json() for k, v in self.subsets.items()},
            "parts": {k: v.to_json() for k, v in self.parts.items()},
        }


def batch_loss(output: Any, batch: Batch, spec: ModelSpec, loss: str) -> torch.Tensor:
    """The training loss of one batch (heatmap targets rendered here, on the batch's device)."""
    size = (spec.width, spec.height)
    if spec.kind == "regression":
        return REGRESSION[loss](decode_points(output, spec), batch.landmarks, size)
    maps = output.heatmaps if spec.kind == "cascade" else output
    hm_size = (maps.shape[-1], maps.shape[-2])
    pts = to_heatmap_coords(batch.landmarks, size, hm_size)
    targets = render_heatmaps(pts, batch.visible, hm_size, spec.sigma)
    if spec.kind == "heatmap":
        return heatmap_mse(maps, targets)
    passes = output.points.float().reshape(*output.points.shape[:2], -1, 2)
    return cascade(maps, unit_to_pixels(passes, *size), targets, batch.landmarks, size)


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
                             drop_last=False, rank=runtime.rank, world=runtime.world, heatmaps=False,
                             channels=setup.spec.channels)
    parts: dict[str, list[Any]] = {"keys": [], "pred": [], "truth": [], "tf": [], "attrs": [], "skipped": []}
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
        parts["skipped"] += cpu_batch.skipped
    return _merge(gather(runtime, (parts, loss_sum)), setup.spec.num_points)


def _merge(per_rank: list[tuple[dict[str, list[Any]], float]], k: int) -> Predictions:
    def cat(name: str, shape: tuple[int, ...]) -> np.ndarray:
        arrays = [a for parts, _ in per_rank for a in parts[name]]
        return np.concatenate(arrays) if arrays else np.zeros((0, *shape))

    keys = [key for parts, _ in per_rank for key in parts["keys"]]
    attrs = [a for parts, _ in per_rank for a in parts["attrs"]]
    skipped = [m for parts, _ in per_rank for m in parts["skipped"]]
    total = sum(loss for _, loss in per_rank)
    return Predictions(keys, cat("pred", (k, 2)), cat("truth", (k, 2)), cat("tf", (2, 3)), attrs,
                       total / max(1, len(keys)), skipped)


def face_nme(preds: Predictions, scheme_name: str) -> np.ndarray:
    """NME of each face [N], in source pixels."""
    pred_src = metrics.to_source(preds.pred, preds.transforms)
    truth_src = metrics.to_source(preds.truth, preds.transforms)
    return metrics.nme_per_face(pred_src, truth_src, get_scheme(scheme_name))


def score(preds: Predictions, scheme_name: str, split: str) -> Report:
    """NME / FR / AUC in source pixels, overall and per binary attribute."""
    return score_parts({split: preds}, scheme_name, split)


def score_parts(parts: dict[str, Predictions], scheme_name: str, split: str) -> Report:
    """``score`` of several parts together (``full``), with each part's own row when there
    are several; attributes and the loss are pooled over the parts."""
    protocol = metrics.protocol_for(scheme_name)
    nme = {name: face_nme(p, scheme_name) for name, p in parts.items()}
    pooled = np.concatenate(list(nme.values()))
    attrs = [a for p in parts.values() for a in p.attributes]
    faces = sum(len(p.keys) for p in parts.values())
    loss = sum(p.loss * len(p.keys) for p in parts.values()) / max(1, faces)
    overall = metrics.summarise(pooled, protocol)
    rows: dict[str, metrics.Metrics] = {}
    if len(parts) > 1:
        rows = {name: metrics.summarise(v, protocol) for name, v in nme.items()}
        rows[FULL] = overall
    skipped = [m for p in parts.values() for m in p.skipped]
    subsets = metrics.subset_metrics(pooled, attrs, protocol)
    return Report(split, loss, protocol, overall, subsets, rows, skipped)


def evaluation_parts(manifest: BuiltDataset, split: str) -> dict[str, str]:
    """Row name → manifest split for evaluating ``split``: the split itself, or the parts of a
    composite split the manifest lacks (``test`` → ``test_common`` + ``test_challenge``).
    Raises ``DataError`` naming the manifest's splits when neither is there."""
    if manifest.splits.get(split):
        return {split: split}
    composite = COMPOSITE_SPLITS.get(split, ())
    if composite and all(manifest.splits.get(name) for _, name in composite):
        return dict(composite)
    manifest.shards(split)
    return {split: split}


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
        raise CheckpointError(f"{ckpt_path}: expected scheme {manifest.scheme!r} (the dataset's), found "
                              f"{ckpt.scheme!r}")
    model = place(build_model(ckpt.spec), runtime.device)
    checkpoint.load_weights(model, ckpt, ckpt_path)
    loss = str(ckpt.config.get("loss", "mse"))
    preds = {}
    for row, name in evaluation_parts(manifest, split).items():
        setup = EvalSetup(manifest.root, manifest.shards(name), ckpt.spec, loss, batch_size, workers, amp)
        preds[row] = predict(model, setup, runtime)
    return score_parts(preds, manifest.scheme, split)
