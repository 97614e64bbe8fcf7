"""One reader per native annotation format, each yielding FaceRecords in the package's convention.

``read_dataset(name, root)`` is the single entry point every other part uses.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from flmprep.records import FaceRecord, ReadReport

OnError = Literal["fail", "skip"]



@dataclass(frozen=True)
class DatasetInfo:
    """One row of the dataset registry: the reader module, the landmark scheme it yields and the
    augmentation recipe a build uses unless told otherwise."""

    module: str
    scheme: str
    recipe: str


DATASETS: dict[str, DatasetInfo] = {
    "celeba": DatasetInfo("flmprep.formats.celeba", "celeba5", "celeba"),
    "celeba-aligned": DatasetInfo("flmprep.formats.celeba", "celeba5", "celeba"),
    "300w": DatasetInfo("flmprep.formats.dlib_xml", "ibug68", "300w"),
    "wflw": DatasetInfo("flmprep.formats.wflw", "wflw98", "wflw"),
    "helen": DatasetInfo("flmprep.formats.helen", "helen194", "helen"),
    "pts": DatasetInfo("flmprep.formats.pts", "ibug68", "300w"),
}


class Reader(Protocol):
    def __call__(
        self, root: Path, dataset: str, report: ReadReport, on_error: OnError
    ) -> Iterator[FaceRecord]: ...


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
) -> Iterator[FaceRecord]:
    """Stream the records of ``dataset`` unpacked at ``root``.

    With ``on_error="fail"`` the first malformed annotation raises ``AnnotationError``;
    with ``"skip"`` it becomes a ``Reject`` in ``report`` and reading goes on.
    """
    _check(dataset)
    module = importlib.import_module(DATASETS[dataset].module)
    reader: Reader = module.read
    return reader(Path(root), dataset, report if report is not None else ReadReport(), on_error)


def _check(dataset: str) -> None:
    if dataset not in DATASETS:
        raise KeyError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
