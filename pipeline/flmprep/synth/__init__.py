"""Synthetic datasets in each native layout, with colour-coded landmark marks.

``synthesize("wflw", out, n=20, seed=1)`` renders face-like images whose landmarks are drawn
as marks (``flmprep.synth.marks``) and writes the dataset's own annotation files, so that
``flmprep.formats.read_dataset`` returns exactly the landmarks the images show.
"""

from __future__ import annotations

import logging
import posixpath
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import simplejpeg

from flmprep.errors import ConfigError
from flmprep.records import FaceRecord
from flmprep.schemes import get_scheme
from flmprep.synth import writers
from flmprep.synth.layouts import LAYOUTS, Layout, image_path, split_sizes
from flmprep.synth.scene import (
    MarkOptions,
    SynthFace,
    SynthImage,
    face_count,
    free_box,
    image_size,
    make_faces,
    mark,
    mirror_image,
    render_scene,
)

logger = logging.getLogger(__name__)

DATASETS = tuple(LAYOUTS)
_UNSAFE = re.compile(r"[^A-Za-z0-9-]")


@dataclass(frozen=True)
class SynthResult:
    """What ``synthesize`` wrote: the images, the records a reader must return, every file."""

    dataset: str
    root: Path
    images: tuple[SynthImage, ...]
    records: tuple[FaceRecord, ...]
    files: tuple[str, ...]


def synthesize(
    dataset: str,
    out: str | Path,
    n: int,
    seed: int,
    *,
    image_format: str | None = None,
    mark_radius: float | None = None,
    sparse_marks: bool = False,
    max_faces: int | None = None,
    overwrite: bool = False,
    all_folders: bool = False,
) -> SynthResult:
    """Write ``n`` synthetic images of ``dataset`` and its native annotation files under ``out``.

    Deterministic: the same arguments give byte-identical files. ``image_format`` is "jpg"
    (quality 100, 4:4:4) or "png" where the layout allows it; ``mark_radius`` (source pixels)
    and ``sparse_marks`` control the marks; ``max_faces`` caps faces per image (300w, wflw).
    ``all_folders`` (300w only) draws the images from all six 300W folders into both XML files and
    adds dlib's mirror (``<stem>_mirror.jpg``) of the first image of each run of twelve, as in
    dlib's own files: the tree the ``300w`` split protocol re-splits.
    """
    layout = _layout(dataset)
    if all_folders and dataset != "300w":
        raise ConfigError(f"--all-folders: expected dataset 300w (dlib's folders), found {dataset}")
    fmt = _format(dataset, layout, image_format)
    if n < 1:
        raise ConfigError(f"--n: expected a positive number of images, found {n}")
    if mark_radius is not None and mark_radius <= 0:
        raise ConfigError(f"--mark-radius: expected a positive radius in pixels, found {mark_radius}")
    splits = split_sizes(n, layout.splits)
    root = _prepare(Path(out), overwrite)
    marks = MarkOptions(mark_radius, sparse_marks)
    faces_cap = layout.max_faces if max_faces is None else max(1, min(max_faces, layout.max_faces))
    num_points = get_scheme(layout.scheme).num_points
    images, files = [], []
    for index, split in enumerate(splits):
        rng = np.random.default_rng([seed, index])
        image = _image(dataset, layout, rng, index, split, fmt, marks, faces_cap, all_folders)
        scene = render_scene(image, rng)
        _save(root / image.path, mark(image, scene, num_points), fmt)
        images.append(image)
        files.append(image.path)
        if all_folders and index % MIRROR_RUN < MIRROR_RUN // 2:
            twin = mirror_image(image, mirror_path(image.path), _flip(layout), writers.dlib_box)
            _save(root / twin.path, mark(twin, np.ascontiguousarray(scene[:, ::-1]), num_points), "jpg")
            images.append(twin)
            files.append(twin.path)
    files += _annotations(dataset, root, images, seed)
    records = tuple(_records(dataset, layout, images))
    logger.info(
        "synth %s: %d images, %d faces, %d files under %s", dataset, n, len(records), len(files), root
    )
    return SynthResult(dataset, root, tuple(images), records, tuple(sorted(files)))


MIRROR_RUN = 12  # with all_folders, the first half of every 12 images gets a mirror


def mirror_path(path: str) -> str:
    """dlib's name for the mirror of ``path``: ``<stem>_mirror.jpg``, .jpg whatever the original."""
    return posixpath.splitext(path)[0] + "_mirror.jpg"


def _flip(layout: Layout) -> np.ndarray:
    return get_scheme(layout.scheme).flip_indices()


def _layout(dataset: str) -> Layout:
    if dataset not in LAYOUTS:
        raise ConfigError(f"unknown dataset {dataset!r}; expected one of {', '.join(LAYOUTS)}")
    return LAYOUTS[dataset]


def _format(dataset: str, layout: Layout, image_format: str | None) -> str:
    fmt = layout.formats[0] if image_format is None else image_format.lower().lstrip(".")
    if fmt == "jpeg":
        fmt = "jpg"
    if fmt not in layout.formats:
        raise ConfigError(
            f"--image-format for {dataset}: expected one of {', '.join(layout.formats)} "
            f"(what its native layout allows), found {image_format!r}"
        )
    return fmt


def _prepare(root: Path, overwrite: bool) -> Path:
    """Create ``root``; a non-empty one is refused unless ``overwrite`` (then it is emptied)."""
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root}: expected a folder for the synthetic dataset, found a file")
    if root.is_dir() and any(root.iterdir()):
        if not overwrite:
            raise ConfigError(
                f"{root}: expected an empty or new folder, found files; pass --overwrite to replace them"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    return root


def _image(
    dataset: str,
    layout: Layout,
    rng: np.random.Generator,
    index: int,
    split: str,
    fmt: str,
    marks: MarkOptions,
    max_faces: int,
    all_folders: bool = False,
) -> SynthImage:
    """Size, faces and (300w) an ignored box for one image; retries sizes until a face fits."""
    wanted = face_count(rng, max_faces)
    for _ in range(50):
        size = image_size(layout, rng, wanted)
        faces = make_faces(layout, rng, size, marks, wanted)
        if faces:
            break
    else:
        raise ConfigError(f"--mark-radius {marks.radius}: no face fits in a {layout.sizes[1]} px image")
    if dataset == "wflw":
        faces = [_with_flags(f, rng) for f in faces]
    ignored: tuple[tuple[int, int, int, int], ...] = ()
    if dataset == "300w" and rng.random() < 0.3:
        box = free_box(rng, size, [f.box for f in faces])
        ignored = () if box is None else (box,)
    path = image_path(dataset, index, split, fmt, all_folders)
    return SynthImage(path, split, size[0], size[1], tuple(faces), ignored)


def _with_flags(face: SynthFace, rng: np.random.Generator) -> SynthFace:
    flags = {name: int(rng.random() < 0.3) for name in writers.WFLW_ATTRIBUTES}
    return SynthFace(face.landmarks, face.raw, face.box, face.pose, face.radii, flags)


def _save(path: Path, pixels: np.ndarray, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jpg":
        data = simplejpeg.encode_jpeg(pixels, quality=100, colorspace="RGB", colorsubsampling="444")
    else:
        ok, buf = cv2.imencode(
            ".png", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 6]
        )
        if not ok:
            raise OSError(f"{path}: PNG encoding failed")
        data = buf.tobytes()
    path.write_bytes(data)


def _annotations(dataset: str, root: Path, images: list[SynthImage], seed: int) -> list[str]:
    if dataset in ("celeba", "celeba-aligned"):
        return writers.write_celeba(root, images, aligned=dataset == "celeba-aligned")
    if dataset == "300w":
        return writers.write_300w(root, images, seed)
    if dataset == "wflw":
        return writers.write_wflw(root, images)
    if dataset == "helen":
        return writers.write_helen(root, images)
    return writers.write_pts(root, images, closing=lambda i: (i + seed) % 2 == 0)


def _bbox(dataset: str, face: SynthFace) -> tuple[float, float, float, float] | None:
    """The box the dataset's reader reports for ``face`` (inclusive pixel corners), if any."""
    box: tuple[int, int, int, int] | None = {
        "celeba": face.box,
        "300w": writers.dlib_box(face),
        "wflw": writers.wflw_rect(face),
    }.get(dataset)
    return None if box is None else (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def record_key(dataset: str, image: str, face: int) -> str:
    """The reader's record key: dataset, the image's name as the annotation gives it (no
    extension, unsafe chars as _), face index. CelebA and HELEN name bare files; WFLW paths
    are relative to WFLW_images/."""
    name = image
    if dataset in ("celeba", "celeba-aligned", "helen"):
        name = posixpath.basename(image)
    elif dataset == "wflw":
        name = posixpath.relpath(image, "WFLW_images")
    stem = posixpath.splitext(name)[0]
    return f"{_UNSAFE.sub('_', dataset)}_{_UNSAFE.sub('_', stem)}_f{face}"


def _records(dataset: str, layout: Layout, images: list[SynthImage]) -> list[FaceRecord]:
    return [
        FaceRecord(
            key=record_key(dataset, image.path, index),
            dataset=dataset,
            split=image.split,
            image=image.path,
            face=index,
            scheme=layout.scheme,
            landmarks=face.landmarks.astype(np.float32),
            bbox=_bbox(dataset, face),
            attributes=dict(face.attributes),
            width=image.width,
            height=image.height,
            origin=image.path,
        )
        for image, index, face in writers.all_faces(images)
    ]


__all__ = ["DATASETS", "SynthResult", "record_key", "synthesize"]
