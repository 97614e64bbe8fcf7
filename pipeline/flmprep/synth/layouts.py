"""Per-dataset facts for synthesis: scheme, splits, image names and sizes, printed precision."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from flmprep.errors import ConfigError


def _int(points: np.ndarray) -> np.ndarray:
    return np.rint(points)


def _decimals(digits: int, offset: float = 0.0) -> Callable[[np.ndarray], np.ndarray]:
    """Round as ``%.{digits}f`` prints ``value + offset``, back in the 0-based convention."""

    def quantise(points: np.ndarray) -> np.ndarray:
        flat = [
            float(f"{v + offset:.{digits}f}") - offset for v in np.asarray(points, dtype=np.float64).ravel()
        ]
        return np.array(flat).reshape(np.shape(points))

    return quantise


@dataclass(frozen=True)
class Layout:
    """How one dataset's native files look: what synthesis must produce for it.

    ``quantise`` turns float landmarks into exactly what the reader will return;
    ``sizes`` is (min, max) pixels per side, or a fixed (width, height) when ``fixed``.
    """

    scheme: str
    splits: tuple[str, ...]
    sizes: tuple[int, int]
    fixed: bool
    quantise: Callable[[np.ndarray], np.ndarray]
    formats: tuple[str, ...]
    max_faces: int = 1
    max_angle: float = 30.0


LAYOUTS: dict[str, Layout] = {
    "celeba": Layout("celeba5", ("train", "val", "test"), (160, 640), False, _int, ("jpg",)),
    "celeba-aligned": Layout(
        "celeba5", ("train", "val", "test"), (178, 218), True, _int, ("jpg", "png"), max_angle=6.0
    ),
    "300w": Layout("ibug68", ("train", "test"), (240, 640), False, _int, ("jpg", "png"), max_faces=3),
    "wflw": Layout("wflw98", ("train", "test"), (280, 640), False, _decimals(6), ("jpg", "png"), max_faces=3),
    "helen": Layout("helen194", ("train", "test"), (420, 640), False, _decimals(2), ("jpg", "png")),
    "pts": Layout("ibug68", ("train", "test"), (240, 640), False, _decimals(6, 1.0), ("jpg", "png")),
}

_WFLW_EVENTS = ("0--Parade", "2--Demonstration", "12--Group", "37--Soccer")
_300W_FOLDERS = {"train": ("helen/trainset", "lfpw/trainset", "afw"), "test": ("helen/testset", "ibug")}
#: Every folder of a full 300W download, for ``all_folders``: each XML file mixes them, as dlib's do.
ALL_300W_FOLDERS = ("afw", "helen/trainset", "helen/testset", "lfpw/trainset", "lfpw/testset", "ibug")


def split_sizes(n: int, splits: tuple[str, ...]) -> list[str]:
    """The split of each of ``n`` images: contiguous runs, ~10% per held-out split, at least one each."""
    if n < len(splits):
        raise ConfigError(
            f"--n: expected at least {len(splits)} images so that every split ({', '.join(splits)}) "
            f"has one, found {n}"
        )
    held = [max(1, round(0.1 * n)) for _ in splits[1:]]
    return [splits[0]] * (n - sum(held)) + [
        s for s, k in zip(splits[1:], held, strict=True) for _ in range(k)
    ]


def image_path(dataset: str, index: int, split: str, ext: str, all_folders: bool = False) -> str:
    """The image's POSIX path relative to the dataset root (``index`` counts from 0); with
    ``all_folders`` (300w) the folder cycles through all six 300W folders whatever the split."""
    num = index + 1
    if dataset == "celeba":
        return f"img_celeba/{num:06d}.{ext}"
    if dataset == "celeba-aligned":
        return f"img_align_celeba/{num:06d}.jpg" if ext == "jpg" else f"img_align_celeba_png/{num:06d}.png"
    if dataset == "300w":
        folders = ALL_300W_FOLDERS if all_folders else _300W_FOLDERS[split]
        folder = folders[index % len(folders)]
        stem = f"{100000000 + 7919 * num}_1" if folder.startswith("helen") else f"image_{num:04d}"
        return f"{folder}/{stem}.{ext}"
    if dataset == "wflw":
        event = _WFLW_EVENTS[index % len(_WFLW_EVENTS)]
        number, name = event.split("--")
        return f"WFLW_images/{event}/{number}_{name}_{name.lower()}_{num}_{97 * num % 1000}.{ext}"
    if dataset == "helen":
        return f"helen_{index % 2 + 1}/{100000000 + 7919 * num}_{num % 3 + 1}.{ext}"
    if dataset == "pts":
        return f"{split}set/image_{num:04d}.{ext}"
    raise KeyError(f"unknown dataset {dataset!r}; expected one of {', '.join(LAYOUTS)}")
