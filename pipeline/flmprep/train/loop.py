"""The training loop: one process per rank, DDP when torchrun starts several.

Per epoch: a fresh epoch plan (same number of steps on every rank), the train
pass, validation on the whole validation split, ``history.jsonl`` and the
checkpoints (rank 0), and ``epochs/rank{R}-epoch{E}.json`` with each rank's
step count (and sample keys under ``--record-keys``).
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from flmprep.data import BuiltDataset, first_sample, open_dataset
from flmprep.data.loader import LandmarkDataset, make_loader
from flmprep.jsonio import finite_json
from flmprep.train import checkpoint
from flmprep.train.config import TrainConfig
from flmprep.train.errors import TrainError
from flmprep.train.models import ModelSpec, build_model, place, prepare_images
from flmprep.train.predict import EvalSetup, Report, batch_loss, predict, score
from flmprep.train.runtime import Runtime, autocast, barrier, gather, start, stop
from flmprep.train.shape_prior import shapenet_model

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class State:
    """Mutable training state: model, optimizer, scheduler, progress."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    epoch: int = 0
    best_val_loss: float = math.inf


@dataclass(frozen=True)
class EpochResult:
    """One rank's account of one training epoch."""

    epoch: int
    steps: int
    samples: int
    loss: float
    seconds: float
    keys: tuple[str, ...]
    skipped: tuple[str, ...] = ()


def model_spec(manifest: BuiltDataset, cfg: TrainConfig) -> ModelSpec:
    """The model spec for the dataset's scheme and image size (read from its first sample);
    ``shapenet``'s component count comes with its PCA (``initial_model``)."""
    doc = first_sample(manifest, cfg.train_split)
    image = doc.get("image") or {}
    width, height = int(image.get("width", 0)), int(image.get("height", 0))
    if width <= 0 or height <= 0:
        raise TrainError(f"first sample {doc.get('key')!r}: expected image width and height, found {image}")
    passes = cfg.passes if cfg.model == "rccnn" else 0
    return ModelSpec.of(cfg.model, manifest.num_points, width, height, sigma=cfg.sigma, passes=passes)


def initial_model(spec: ModelSpec, manifest: BuiltDataset, cfg: TrainConfig) -> tuple[ModelSpec, nn.Module]:
    """The untrained model and its final spec: ``shapenet`` first fits its PCA shape model to
    the training split's landmarks (``--pca-variance``)."""
    torch.manual_seed(cfg.seed)
    if spec.name == "shapenet":
        return shapenet_model(spec, manifest, cfg.train_split, cfg.pca_variance)
    return spec, build_model(spec)


def make_state(model: nn.Module, cfg: TrainConfig, runtime: Runtime) -> State:
    """Model (DDP-wrapped when distributed), optimizer and step scheduler."""
    model = place(model, runtime.device)
    if runtime.distributed:
        ids = [runtime.device.index] if runtime.cuda else None
        model = DistributedDataParallel(model, device_ids=ids)
    params = model.parameters()
    opt: torch.optim.Optimizer
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(cfg.milestones), gamma=cfg.gamma)
    return State(model, opt, sched)


def bare(model: nn.Module) -> nn.Module:
    """The model without its DDP wrapper."""
    return model.module if isinstance(model, DistributedDataParallel) else model


def resume(state: State, cfg: TrainConfig, runtime: Runtime) -> None:
    """Load OUTPUT/last.pt into ``state`` (weights, optimizer, scheduler, epoch, best loss)."""
    ckpt = checkpoint.load(cfg.output / checkpoint.LAST, map_location=runtime.device)
    checkpoint.load_weights(bare(state.model), ckpt, cfg.output / checkpoint.LAST)
    if ckpt.optimizer is not None:
        state.optimizer.load_state_dict(ckpt.optimizer)
    if ckpt.scheduler is not None:
        state.scheduler.load_state_dict(ckpt.scheduler)
    state.epoch, state.best_val_loss = ckpt.epoch, ckpt.best_val_loss
    log.info("resumed from %s at epoch %d", cfg.output / checkpoint.LAST, ckpt.epoch)


def train_epoch(
    state: State, cfg: TrainConfig, manifest: BuiltDataset, spec: ModelSpec, runtime: Runtime
) -> EpochResult:
    """One pass over this rank's share of the training split."""
    epoch = state.epoch + 1
    stream = LandmarkDataset(manifest, cfg.train_split, batch_size=cfg.batch_size, shuffle=True,
                             shuffle_buffer=cfg.shuffle_buffer, seed=cfg.seed, epoch=epoch, rank=runtime.rank,
                             world=runtime.world, heatmaps=False, channels=spec.channels)
    state.model.train()
    steps, samples, loss_sum, keys, skipped = 0, 0, 0.0, [], []
    began = time.perf_counter()
    for cpu_batch in progress(make_loader(stream, cfg.workers, pin_memory=runtime.cuda), stream.steps, epoch,
                              runtime):
        skipped += cpu_batch.skipped
        check_skipped(skipped, cfg.max_corrupt, f"epoch {epoch}, rank {runtime.rank}")
        batch = cpu_batch.to(runtime.device, non_blocking=True)
        with autocast(runtime, cfg.amp):
            out = state.model(prepare_images(batch.images))
        loss = batch_loss(out, batch, spec, cfg.loss)
        state.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        state.optimizer.step()
        steps, samples = steps + 1, samples + len(batch)
        loss_sum += check_finite(float(loss.detach()), epoch, steps)
        if cfg.record_keys:
            keys += cpu_batch.keys
    state.scheduler.step()
    if steps != stream.steps:
        raise TrainError(f"rank {runtime.rank}: expected {stream.steps} steps (plan), ran {steps}")
    seconds = time.perf_counter() - began
    return EpochResult(epoch, steps, samples, loss_sum / max(1, steps), seconds, tuple(keys), tuple(skipped))


def check_skipped(skipped: list[str], limit: int, where: str) -> None:
    """Stop the run once more than ``limit`` corrupt samples were skipped (``--max-corrupt``)."""
    if len(skipped) > limit:
        raise TrainError(f"{where}: expected at most {limit} corrupt samples (--max-corrupt), found "
                         f"{len(skipped)}; the last: {skipped[-1]}")


def check_finite(loss: float, epoch: int, step: int) -> float:
    """``loss``, or a ``TrainError`` when it is NaN or infinite (the run diverged)."""
    if not math.isfinite(loss):
        raise TrainError(f"epoch {epoch}, step {step + 1}: expected a finite training loss, found {loss}; "
                         "the run diverged (lower --lr, or check the data with flmprep verify)")
    return loss


def validation_split(manifest: BuiltDataset, cfg: TrainConfig) -> str:
    """``--val-split``, else the first of ``val``, ``test``, ``test_common`` (300W's standard
    protocol) the dataset has, else "" (none)."""
    if cfg.val_split:
        manifest.shards(cfg.val_split)
        return cfg.val_split
    return next((s for s in ("val", "test", "test_common") if manifest.splits.get(s)), "")


def write_epoch_record(cfg: TrainConfig, runtime: Runtime, result: EpochResult) -> None:
    """OUTPUT/epochs/rank{R}-epoch{E}.json: this rank's steps, samples (and keys)."""
    folder = cfg.output / "epochs"
    folder.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "rank": runtime.rank,
        "epoch": result.epoch,
        "steps": result.steps,
        "samples": result.samples,
    }
    if cfg.record_keys:
        doc["keys"] = list(result.keys)
    path = folder / f"rank{runtime.rank}-epoch{result.epoch:03d}.json"
    path.write_text(json.dumps(doc, sort_keys=True) + "\n", "utf-8")


def save_checkpoints(
    state: State,
    cfg: TrainConfig,
    spec: ModelSpec,
    scheme: str,
    val_loss: float,
    prediction: dict[str, Any] | None = None,
) -> bool:
    """Write last.pt, and best.pt when ``val_loss`` improves; returns whether it did."""
    improved = val_loss < state.best_val_loss
    if improved:
        state.best_val_loss = val_loss
    ckpt = checkpoint.Checkpoint(
        spec,
        scheme,
        state.epoch,
        state.best_val_loss,
        bare(state.model).state_dict(),
        state.optimizer.state_dict(),
        state.scheduler.state_dict(),
        cfg.to_json(),
        prediction,
    )
    checkpoint.save(cfg.output / checkpoint.LAST, ckpt)
    if improved:
        checkpoint.save(cfg.output / checkpoint.BEST, ckpt)
    return improved


def _output_problem(cfg: TrainConfig) -> str:
    """Why OUTPUT cannot be used as asked ("" when it can)."""
    last = cfg.output / checkpoint.LAST
    if cfg.resume and not last.is_file():
        return f"--resume: expected {last} from an earlier run, found none"
    if not cfg.resume and last.exists():
        return f"{cfg.output} already holds {checkpoint.LAST}; pass --resume or another --output"
    return ""


def _check_output(cfg: TrainConfig, runtime: Runtime) -> None:
    """Refuse a wrong OUTPUT on every rank together (no rank is left waiting in a collective)."""
    problems = [p for p in gather(runtime, _output_problem(cfg)) if p]
    if problems:
        raise TrainError(problems[0])


def epoch_line(row: dict[str, Any]) -> str:
    """The line ``flmprep train`` prints for one history row."""
    val = row.get("val", {})
    skipped = row.get("skipped", 0) + len(val.get("skipped", ()))
    return (
        f"epoch {row['epoch']:3d}  steps {row['steps']}  train_loss {row['train_loss']:.5f}"
        + (f"  val_loss {val['loss']:.5f}  NME {val['nme']:.4f}" if val else "")
        + (f"  skipped {skipped} corrupt" if skipped else "")
    )


def run(cfg: TrainConfig, echo: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Train as configured (this process is one rank); returns the history rows (on every rank).
    ``echo`` gets rank 0's lines as they happen: each epoch's ``epoch_line``, and a note when
    ``--resume`` finds the run already finished."""
    runtime = start()
    try:
        return _run(cfg, runtime, (echo if runtime.is_main else None) or (lambda _: None))
    finally:
        stop(runtime)


@dataclass(frozen=True)
class _Run:
    """What every epoch of one run shares."""

    cfg: TrainConfig
    runtime: Runtime
    manifest: BuiltDataset
    spec: ModelSpec
    val: str
    prediction: dict[str, Any] | None
    echo: Callable[[str], None]


def _run(cfg: TrainConfig, runtime: Runtime, echo: Callable[[str], None]) -> list[dict[str, Any]]:
    _check_output(cfg, runtime)
    manifest = open_dataset(cfg.data)
    spec, model = initial_model(model_spec(manifest, cfg), manifest, cfg)
    state = make_state(model, cfg, runtime)
    if cfg.resume:
        resume(state, cfg, runtime)
        if state.epoch >= cfg.epochs:
            echo(f"{cfg.output / checkpoint.LAST}: the run already finished epoch {state.epoch} of "
                 f"--epochs {cfg.epochs}; nothing to train (a larger --epochs goes on from there)")
            return []
    cfg.output.mkdir(parents=True, exist_ok=True)
    prediction = _prediction(manifest, cfg, spec) if runtime.is_main else None
    run = _Run(cfg, runtime, manifest, spec, validation_split(manifest, cfg), prediction, echo)
    history = []
    while state.epoch < cfg.epochs:
        history.append(_epoch(state, run))
        barrier(runtime)
    return history


def _epoch(state: State, run: _Run) -> dict[str, Any]:
    """Train one epoch, validate, and (rank 0) save the checkpoints and the history row."""
    cfg, runtime = run.cfg, run.runtime
    result = train_epoch(state, cfg, run.manifest, run.spec, runtime)
    state.epoch = result.epoch
    write_epoch_record(cfg, runtime, result)
    report = _validate(state, cfg, run.manifest, run.spec, runtime, run.val)
    if report is not None:
        check_skipped(report.skipped, cfg.max_corrupt, f"epoch {result.epoch}, validation on {run.val}")
    row = _history_row(result, report, gather(runtime, (result.loss, len(result.skipped))))
    if runtime.is_main:
        loss = report.loss if report else result.loss
        row["best"] = save_checkpoints(state, cfg, run.spec, run.manifest.scheme, loss, run.prediction)
        with (cfg.output / "history.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(finite_json(row), sort_keys=True, allow_nan=False) + "\n")
        run.echo(epoch_line(row))
    log.info("%s", epoch_line(row))
    return row


def _prediction(manifest: BuiltDataset, cfg: TrainConfig, spec: ModelSpec) -> dict[str, Any] | None:
    """What ``flmprep predict`` needs, stored in every checkpoint (``flmprep.train.prediction``);
    None, with a warning, for a dataset whose manifest or samples do not say how it was built."""
    from flmprep.inference.errors import InferenceError
    from flmprep.train.prediction import prediction_metadata

    shards = [s.path for s in manifest.shards(cfg.train_split)]
    source_root = Path(cfg.source_root) if cfg.source_root else None
    try:
        return prediction_metadata(manifest.root, shards, spec, source_root)
    except InferenceError as exc:
        log.warning("checkpoints get no prediction metadata (flmprep predict cannot use them): %s", exc)
        return None


def _validate(
    state: State, cfg: TrainConfig, manifest: BuiltDataset, spec: ModelSpec, runtime: Runtime, split: str
) -> Report | None:
    if not split:
        return None
    setup = EvalSetup(
        manifest.root, manifest.shards(split), spec, cfg.loss, cfg.batch_size, cfg.workers, cfg.amp
    )
    return score(predict(bare(state.model), setup, runtime), manifest.scheme, split)


def _history_row(
    result: EpochResult, report: Report | None, ranks: list[tuple[float, int]]
) -> dict[str, Any]:
    """One line of history.jsonl: the epoch, its steps, the rank-averaged train loss, the corrupt
    training samples skipped on all ranks, validation scores."""
    row: dict[str, Any] = {
        "epoch": result.epoch,
        "steps": result.steps,
        "train_loss": sum(loss for loss, _ in ranks) / len(ranks),
        "samples_per_s": result.samples * len(ranks) / max(result.seconds, 1e-9),
        "skipped": sum(n for _, n in ranks),
    }
    if report is not None:
        row["val"] = report.to_json()
    return row


def progress(batches: Iterable[T], total: int, epoch: int, runtime: Runtime) -> Iterable[T]:
    """``batches`` with a progress bar on rank 0 when stderr is a terminal."""
    if not (runtime.is_main and sys.stderr.isatty()):
        return batches
    return tqdm(batches, total=total, desc=f"epoch {epoch}", unit="step", leave=False, file=sys.stderr)
