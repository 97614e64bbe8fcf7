"""One reader per native annotation format, each yielding FaceRecords in the package's convention.

``read_dataset(name, root)`` is the single entry point every other part uses.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from flmprep.errors import ConfigError
from flmprep.formats._common import ReadContext
from flmprep.records import FaceRecord, ReadReport

OnError = Literal["fail", "skip"]


@dataclass(frozen=True)
class DatasetInfo:
    """One row of the dataset registry: the reader module, the landmark scheme it yields, the
    augmentation recipe a build uses unless told otherwise, and the split protocols the reader
    knows (the first is the default; none for datasets with one way to split)."""

    module: str
    scheme: str
    recipe: str
    protocols: tuple[str, ...] = ()


DATASETS: dict[str, DatasetInfo] = {
    "celeba": DatasetInfo("flmprep.formats.celeba", "celeba5", "celeba"),
    "celeba-aligned": DatasetInfo("flmprep.formats.celeba", "celeba5", "celeba"),
    "300w": DatasetInfo("flmprep.formats.dlib_xml", "ibug68", "300w", ("dlib", "300w")),
    "wflw": DatasetInfo("flmprep.formats.wflw", "wflw98", "wflw"),
    "helen": DatasetInfo("flmprep.formats.helen", "helen194", "helen"),
    "pts": DatasetInfo("flmprep.formats.pts", "ibug68", "300w"),
}


class Reader(Protocol):
    def __call__(self, ctx: ReadContext) -> Iterator[FaceRecord]: ...


def scheme_of(dataset: str) -> str:
    """The landmark scheme a dataset's reader yields."""
    _check(dataset)
    return DATASETS[dataset].scheme


def default_recipe(dataset: str) -> str:
    """The recipe a build of ``dataset`` uses unless ``--recipe`` says otherwise."""
    _check(dataset)
    return DATASETS[dataset].recipe


def attribute_names(dataset: str) -> tuple[str, ...]:
    """The per-face attributes a dataset's annotations can carry (its reader module's
    ``ATTRIBUTES``, e.g. WFLW's six flags; empty for datasets without any)."""
    _check(dataset)
    names: tuple[str, ...] = getattr(importlib.import_module(DATASETS[dataset].module), "ATTRIBUTES", ())
    return names


def read_dataset(
    dataset: str,
    root: str | Path,
    *,
    on_error: OnError = "fail",
    report: ReadReport | None = None,
    protocol: str | None = None,
) -> Iterator[FaceRecord]:
    """Stream the records of ``dataset`` unpacked at ``root``.

    With ``on_error="fail"`` the first malformed annotation raises ``AnnotationError``;
    with ``"skip"`` it becomes a ``Reject`` in ``report`` and reading goes on.
    ``protocol`` picks how the records are split, for datasets that know several ways
    (``300w``: ``"dlib"``, the default, or ``"300w"``); other datasets refuse any value but None.
    """
    chosen = resolve_protocol(dataset, protocol)
    info = DATASETS[dataset]
    mode: OnError = "skip" if on_error == "skip" else "fail"
    report = report if report is not None else ReadReport()
    ctx = ReadContext(Path(root), dataset, info.scheme, report, mode, chosen)
    reader: Reader = importlib.import_module(info.module).read
    return reader(ctx)


def protocols_of(dataset: str) -> tuple[str, ...]:
    """The split protocols ``dataset``'s reader knows, the default first (empty: only one way)."""
    _check(dataset)
    return DATASETS[dataset].protocols


def resolve_protocol(dataset: str, protocol: str | None) -> str:
    """The protocol a read of ``dataset`` uses: ``protocol``, or the dataset's default when None
    ("" for datasets without protocols). An unknown one is a ``ConfigError`` listing the known."""
    known = protocols_of(dataset)
    if protocol is None:
        return known[0] if known else ""
    if protocol not in known:
        if not known:
            raise ConfigError(
                f"--protocol: expected no protocol for {dataset} (it has one way to split), "
                f"found {protocol!r}"
            )
        raise ConfigError(f"--protocol for {dataset}: expected one of {', '.join(known)}, found {protocol!r}")
    return protocol


def _check(dataset: str) -> None:
    if dataset not in DATASETS:
        raise KeyError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
