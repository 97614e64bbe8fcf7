"""One synthetic image: place faces, quantise their landmarks, choose mark radii, render."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from flmprep.synth.faces import FacePose, face_shape, min_face_scale, nn_distances
from flmprep.synth.layouts import Layout
from flmprep.synth.render import Grid, background, compose, fit_range, paint_face

MIN_SPACING_PX = 4.0  # closest landmarks of a face are at least this far apart
Box = tuple[int, int, int, int]  # x_min, y_min, x_max, y_max (inclusive pixels)
_HEAD = np.array([[-1.15, -1.2], [1.15, -1.2], [1.15, 1.45], [-1.15, 1.45]])  # head box, face frame


@dataclass(frozen=True)
class MarkOptions:
    """Mark drawing: ``radius`` in source pixels (None: 0.1 x face scale), ``sparse`` marks only
    a subset of landmarks at least 2.5 radii apart so no two marks ever touch."""

    radius: float | None = None
    sparse: bool = False


@dataclass(frozen=True)
class SynthFace:
    """A face as written: landmarks [K, 2] float64 exactly as the reader returns them (0-based),
    the float landmarks they were rounded from (``raw``), the head box (x_min, y_min, x_max,
    y_max) in integer pixels, the pose and the mark radii."""

    landmarks: np.ndarray
    raw: np.ndarray
    box: tuple[int, int, int, int]
    pose: FacePose
    radii: np.ndarray
    attributes: dict[str, int] = field(default_factory=dict)
    detector_box: tuple[int, int, int, int] | None = None  # dlib box given as is (a mirror's)


@dataclass(frozen=True)
class SynthImage:
    """An image's metadata: relative path, split, size, faces, and unmarked ("ignore") boxes."""

    path: str
    split: str
    width: int
    height: int
    faces: tuple[SynthFace, ...]
    ignored: tuple[tuple[int, int, int, int], ...] = ()


def image_size(layout: Layout, rng: np.random.Generator, faces: int) -> tuple[int, int]:
    """(width, height): fixed, or drawn from the layout's range (800-1000 wide for several faces)."""
    if layout.fixed:
        return layout.sizes
    lo, hi = layout.sizes
    width = int(rng.integers(800, 1001)) if faces > 1 else int(rng.integers(lo, hi + 1))
    return width, int(rng.integers(lo, hi + 1))


def _head_box(pose: FacePose, width: int, height: int) -> tuple[int, int, int, int]:
    corners = pose.apply(_HEAD)
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    return max(int(x0), 0), max(int(y0), 0), min(int(x1), width - 1), min(int(y1), height - 1)


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int], pad: float) -> bool:
    return not (a[2] + pad < b[0] or b[2] + pad < a[0] or a[3] + pad < b[1] or b[3] + pad < a[1])


def _pose(
    layout: Layout,
    rng: np.random.Generator,
    shape: np.ndarray,
    size: tuple[int, int],
    marks: MarkOptions,
    largest: float,
) -> FacePose | None:
    """A random similarity that keeps every landmark (and its mark) inside the image, or None."""
    width, height = size
    angle = rng.uniform(-layout.max_angle, layout.max_angle)
    if layout.fixed:  # aligned crops: the face sits where the alignment put it
        return FacePose(
            rng.uniform(42.0, 50.0),
            angle,
            width / 2 + rng.uniform(-4, 4),
            height * 0.555 + rng.uniform(-4, 4),
        )
    lo = max(min_face_scale(layout.scheme, MIN_SPACING_PX), 0.12 * min(width, height))
    scale = rng.uniform(lo, max(lo, largest * min(width, height)))
    margin = (marks.radius if marks.radius is not None else 0.1 * scale) + 2.0
    pts = FacePose(scale, angle, 0.0, 0.0).apply(shape)
    span_lo, span_hi = pts.min(axis=0) - margin, pts.max(axis=0) + margin
    room = np.array([width - 1, height - 1]) - (span_hi - span_lo)
    if (room < 0).any():
        return None
    return FacePose(scale, angle, rng.uniform(0, room[0]) - span_lo[0], rng.uniform(0, room[1]) - span_lo[1])


def _radii(points: np.ndarray, scale: float, marks: MarkOptions) -> np.ndarray:
    """Mark radius per landmark: the requested radius, capped at 0.45 x the nearest spacing."""
    radius = marks.radius if marks.radius is not None else 0.1 * scale
    if not marks.sparse:
        return np.minimum(radius, 0.45 * nn_distances(points))
    keep: list[int] = []
    for i, p in enumerate(points):
        if all(math.dist(p, points[j]) >= 2.5 * radius for j in keep):
            keep.append(i)
    radii = np.zeros(len(points))
    radii[keep] = radius
    return radii


def face_count(rng: np.random.Generator, max_faces: int) -> int:
    """Faces wanted in one image: mostly one, sometimes up to ``max_faces``."""
    return 1 if max_faces <= 1 or rng.random() < 0.6 else int(rng.integers(2, max_faces + 1))


def make_faces(
    layout: Layout, rng: np.random.Generator, size: tuple[int, int], marks: MarkOptions, wanted: int
) -> list[SynthFace]:
    """Up to ``wanted`` non-overlapping faces (possibly none when the image is too small)."""
    faces: list[SynthFace] = []
    for _ in range(12 * wanted):
        if len(faces) == wanted:
            break
        shape = face_shape(layout.scheme, rng)
        pose = _pose(layout, rng, shape, size, marks, 0.42 if wanted == 1 else 0.25)
        if pose is None:
            continue
        box = _head_box(pose, *size)
        if any(_overlaps(box, f.box, 0.1 * (box[2] - box[0])) for f in faces):
            continue
        raw = pose.apply(shape)
        points = layout.quantise(raw)
        faces.append(SynthFace(points, raw, box, pose, _radii(points, pose.scale, marks)))
    return faces


def free_box(
    rng: np.random.Generator, size: tuple[int, int], taken: list[tuple[int, int, int, int]]
) -> tuple[int, int, int, int] | None:
    """A square box for an unmarked face that overlaps no face (None when there is no room)."""
    width, height = size
    side = int(rng.integers(24, max(25, min(width, height) // 4)))
    for _ in range(20):
        x0, y0 = int(rng.integers(0, width - side)), int(rng.integers(0, height - side))
        box = (x0, y0, x0 + side - 1, y0 + side - 1)
        if not any(_overlaps(box, t, 4) for t in taken):
            return box
    return None


def render(image: SynthImage, num_points: int, rng: np.random.Generator) -> np.ndarray:
    """The RGB uint8 pixels of ``image``: scene, faces (ignored ones unmarked), marks."""
    return mark(image, render_scene(image, rng), num_points)


def render_scene(image: SynthImage, rng: np.random.Generator) -> np.ndarray:
    """The grey scene of ``image`` at full size (float): background and faces, no marks."""
    grid = Grid(image.width, image.height)
    grey = background(rng, grid)
    for face in image.faces:
        paint_face(grey, grid, face.pose)
    for x0, y0, x1, y1 in image.ignored:
        paint_face(grey, grid, FacePose((x1 - x0) / 2.6, 0.0, (x0 + x1) / 2, (y0 + y1) / 2))
    return grid.upsample(fit_range(grey))


def mark(image: SynthImage, scene: np.ndarray, num_points: int) -> np.ndarray:
    """The RGB uint8 pixels: ``scene`` with the marks of ``image``'s faces blended in."""
    return compose(scene, [(f.landmarks, f.radii) for f in image.faces], num_points)


def mirror_image(
    image: SynthImage, path: str, flip: np.ndarray, detector_box: Callable[[SynthFace], Box]
) -> SynthImage:
    """dlib's mirror of ``image``: x -> W - 1 - x with the point order permuted by ``flip``
    (``flipped[i] = original[flip[i]]``), boxes as dlib's ``left' = W - left - width``; each
    face keeps the mirror of its original's ``detector_box`` (exact, not recomputed)."""
    width = image.width

    def box(b: Box) -> Box:
        return width - 1 - b[2], b[1], width - 1 - b[0], b[3]

    def points(p: np.ndarray) -> np.ndarray:
        out = np.array(p, dtype=np.float64)[flip]
        out[:, 0] = width - 1 - out[:, 0]
        return out

    faces = tuple(
        SynthFace(
            points(f.landmarks),
            points(f.raw),
            box(f.box),
            FacePose(f.pose.scale, -f.pose.angle, width - 1 - f.pose.tx, f.pose.ty),
            f.radii[flip],
            dict(f.attributes),
            box(detector_box(f)),
        )
        for f in image.faces
    )
    return SynthImage(path, image.split, width, image.height, faces, tuple(box(b) for b in image.ignored))
