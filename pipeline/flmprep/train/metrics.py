"""Landmark metrics in source-image pixels: NME, failure rates, AUC of the CED curve.

Predictions and ground truth (both in output pixels) are mapped back through the
inverse of each sample's stored ``transform`` before measuring. NME of a face is
the mean point-to-point distance over the scheme's normaliser (``flmprep.schemes``).
AUC is the exact area under the CED curve on [0, α] divided by α:
``mean_i max(0, α - nme_i) / α`` (no sampling grid).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from flmprep.schemes import Scheme

FAILURE_THRESHOLDS = (0.08, 0.10)
AUC_LIMIT = 0.10


@dataclass(frozen=True)
class Metrics:
    """Summary of per-face NMEs."""

    count: int
    nme: float
    fr_008: float
    fr_010: float
    auc_010: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def to_source(points: np.ndarray, transforms: np.ndarray) -> np.ndarray:
    """Output-pixel points [N,K,2] → source pixels with the inverse of each 2×3 transform [N,2,3]."""
    n = transforms.shape[0]
    full = np.zeros((n, 3, 3), dtype=np.float64)
    full[:, :2, :] = transforms
    full[:, 2, 2] = 1.0
    inv = np.linalg.inv(full)
    pts = points.astype(np.float64)
    return np.einsum("nij,nkj->nki", inv[:, :2, :2], pts) + inv[:, None, :2, 2]


def nme_per_face(pred_src: np.ndarray, gt_src: np.ndarray, scheme: Scheme) -> np.ndarray:
    """NME of each face [N] from predictions and ground truth [N,K,2] in source pixels."""
    dist = np.linalg.norm(pred_src - gt_src, axis=-1).mean(axis=-1)
    norm = np.array([scheme.nme(g) for g in gt_src], dtype=np.float64)
    if np.any(norm <= 0):
        raise ValueError(
            f"NME normaliser ({scheme.nme.label}) is zero for faces {np.flatnonzero(norm <= 0)[:5]}"
        )
    result: np.ndarray = dist / norm
    return result


def summarise(nme: np.ndarray) -> Metrics:
    """Mean NME, failure rates at 0.08 and 0.10, and AUC of the CED up to 0.10."""
    nme = np.asarray(nme, dtype=np.float64)
    if nme.size == 0:
        return Metrics(0, float("nan"), float("nan"), float("nan"), float("nan"))
    fr08, fr10 = (float(np.mean(nme > t)) for t in FAILURE_THRESHOLDS)
    auc = float(np.mean(np.clip(AUC_LIMIT - nme, 0.0, None)) / AUC_LIMIT)
    return Metrics(int(nme.size), float(nme.mean()), fr08, fr10, auc)


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    return None


def subset_metrics(nme: np.ndarray, attributes: Sequence[dict[str, Any]]) -> dict[str, Metrics]:
    """Metrics per binary attribute (e.g. WFLW's pose, expression, ...): faces where the flag is set."""
    names = sorted({k for a in attributes for k in a})
    out: dict[str, Metrics] = {}
    for name in names:
        flags = [_flag(a.get(name)) for a in attributes]
        if any(f is None for f in flags):
            continue
        mask = np.array(flags, dtype=bool)
        out[name] = summarise(np.asarray(nme)[mask])
    return out
