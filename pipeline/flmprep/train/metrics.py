"""Landmark metrics in source-image pixels: NME, failure rates, AUC of the CED curve.

Predictions and ground truth (both in output pixels) are mapped back through the
inverse of each sample's stored ``transform`` before measuring. NME of a face is
the mean point-to-point distance over the scheme's normaliser (``flmprep.schemes``).
AUC@α is the exact area under the CED curve on [0, α] divided by α:
``mean_i max(0, α - nme_i) / α`` (no sampling grid).

Each scheme has an evaluation protocol (``protocol_for``): its normaliser and the thresholds
the field reports it at: WFLW FR and AUC @0.10; 300W (ibug68, inter-ocular) @0.08 and
@0.10; box-normalised sets (√(w·h), helen194) @0.07; CelebA (no published convention)
FR @0.08 and @0.10, AUC @0.10.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from flmprep.schemes import Scheme, get_scheme

#: The inter-ocular normaliser's points, per scheme with a point normaliser.
_NORMALISER_POINTS = {"wflw98": "outer eye corners", "ibug68": "outer eye corners", "celeba5": "eye centres"}
#: (failure thresholds, AUC limits) per scheme; box-normalised schemes use BOX_THRESHOLDS.
_THRESHOLDS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "wflw98": ((0.10,), (0.10,)),
    "ibug68": ((0.08, 0.10), (0.08, 0.10)),
    "celeba5": ((0.08, 0.10), (0.10,)),
}
BOX_THRESHOLDS = ((0.07,), (0.07,))


def _key(prefix: str, threshold: float) -> str:
    """``fr_008``, ``auc_010``: the JSON key of a rate at a threshold."""
    return f"{prefix}_{round(threshold * 100):03d}"


@dataclass(frozen=True)
class Protocol:
    """How a scheme is scored: the normaliser's label and the thresholds reported."""

    scheme: str
    normaliser: str
    failure: tuple[float, ...]
    auc: tuple[float, ...]

    def columns(self) -> list[tuple[str, str]]:
        """(JSON key, column title) of every rate, failure rates first."""
        fr = [(_key("fr", t), f"FR@{t:.2f}") for t in self.failure]
        return fr + [(_key("auc", t), f"AUC@{t:.2f}") for t in self.auc]

    def to_json(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            "normaliser": self.normaliser,
            "failure_thresholds": list(self.failure),
            "auc_limits": list(self.auc),
            "columns": [list(c) for c in self.columns()],
        }


def protocol_for(scheme_name: str) -> Protocol:
    """The evaluation protocol of the landmark scheme ``scheme_name``."""
    scheme = get_scheme(scheme_name)
    if scheme.nme.kind == "box":
        return Protocol(scheme.name, "landmark box √(w·h) of the ground truth", *BOX_THRESHOLDS)
    what = _NORMALISER_POINTS.get(scheme.name, "points")
    label = f"inter-ocular, {what} {scheme.nme.a}–{scheme.nme.b}"
    return Protocol(scheme.name, label, *_THRESHOLDS.get(scheme.name, ((0.08, 0.10), (0.10,))))


@dataclass(frozen=True)
class Metrics:
    """Summary of per-face NMEs: failure rate per threshold and AUC per limit."""

    count: int
    nme: float
    failure: dict[float, float]
    auc: dict[float, float]

    def to_json(self) -> dict[str, Any]:
        rates = {_key("fr", t): v for t, v in self.failure.items()}
        areas = {_key("auc", t): v for t, v in self.auc.items()}
        return {"count": self.count, "nme": self.nme, **rates, **areas}


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


def summarise(nme: np.ndarray, protocol: Protocol) -> Metrics:
    """Mean NME, failure rates and AUCs at the protocol's thresholds."""
    nme = np.asarray(nme, dtype=np.float64)
    if nme.size == 0:
        nan = float("nan")
        return Metrics(0, nan, dict.fromkeys(protocol.failure, nan), dict.fromkeys(protocol.auc, nan))
    failure = {t: float(np.mean(nme > t)) for t in protocol.failure}
    auc = {a: float(np.mean(np.clip(a - nme, 0.0, None)) / a) for a in protocol.auc}
    return Metrics(int(nme.size), float(nme.mean()), failure, auc)


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    return None


def subset_metrics(
    nme: np.ndarray, attributes: Sequence[dict[str, Any]], protocol: Protocol
) -> dict[str, Metrics]:
    """Metrics per binary attribute (e.g. WFLW's pose, expression, ...): faces where the flag is
    set; an attribute set on no face gets no entry."""
    names = sorted({k for a in attributes for k in a})
    out: dict[str, Metrics] = {}
    for name in names:
        flags = [_flag(a.get(name)) for a in attributes]
        if any(f is None for f in flags) or not any(flags):
            continue
        mask = np.array(flags, dtype=bool)
        out[name] = summarise(np.asarray(nme)[mask], protocol)
    return out
