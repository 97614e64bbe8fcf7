"""One writer per native layout: the annotation files, byte for byte as the official releases write them.

Each writer takes the dataset root and the images (with faces whose landmarks are already
quantised to what the file prints) and returns the relative paths it wrote.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from flmprep.synth.scene import SynthFace, SynthImage

CELEBA_LANDMARK_HEADER = " ".join(
    f"{part}_{axis}" for part in ("lefteye", "righteye", "nose", "leftmouth", "rightmouth") for axis in "xy"
)
CELEBA_BBOX_HEADER = "image_id x_1 y_1 width height"
CELEBA_PARTITION = {"train": 0, "val": 1, "test": 2}
WFLW_ATTRIBUTES = ("pose", "expression", "illumination", "make_up", "occlusion", "blur")
WFLW_LISTS = "WFLW_annotations/list_98pt_rect_attr_train_test"


def _write(root: Path, rel: str, text: str, newline: str = "\n") -> str:
    """Write ``text`` (LF line ends) as ASCII with ``newline`` line ends; return ``rel``."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", newline).encode("ascii"))
    return rel


def _field(value: int, width: int) -> str:
    """Right-aligned in ``width`` characters, but always preceded by at least one space."""
    text = str(value)
    return f"{text:>{width}}" if len(text) < width else " " + text


def _ints(points: np.ndarray) -> list[int]:
    return [int(v) for v in np.asarray(points).ravel()]


def _celeba_name(image: SynthImage) -> str:
    return posixpath.splitext(posixpath.basename(image.path))[0] + ".jpg"


def write_celeba(root: Path, images: list[SynthImage], aligned: bool) -> list[str]:
    """Anno/list_landmarks[_align]_celeba.txt, Anno/list_bbox_celeba.txt (in the wild only) and
    Eval/list_eval_partition.txt; CRLF, count line, header, ``%5d``-style padded values."""
    name = "list_landmarks_align_celeba.txt" if aligned else "list_landmarks_celeba.txt"
    rows = []
    for image in images:
        v = _ints(image.faces[0].landmarks)
        rows.append(f"{_celeba_name(image)} {v[0]}" + "".join(_field(x, 5) for x in v[1:]))
    written = [_write(root, f"Anno/{name}", _listing(rows, CELEBA_LANDMARK_HEADER), "\r\n")]
    if not aligned:
        rows = []
        for image in images:
            x0, y0, x1, y1 = image.faces[0].box
            rows.append(
                _celeba_name(image)
                + _field(x0, 6)
                + "".join(_field(v, 4) for v in (y0, x1 - x0 + 1, y1 - y0 + 1))
            )
        written.append(_write(root, "Anno/list_bbox_celeba.txt", _listing(rows, CELEBA_BBOX_HEADER), "\r\n"))
    part = "".join(f"{_celeba_name(i)} {CELEBA_PARTITION[i.split]}\n" for i in images)
    written.append(_write(root, "Eval/list_eval_partition.txt", part, "\r\n"))
    return written


def _listing(rows: list[str], header: str) -> str:
    return f"{len(rows)}\n{header}\n" + "".join(r + "\n" for r in rows)


def write_300w(root: Path, images: list[SynthImage], seed: int) -> list[str]:
    """labels_ibug_300W_{train,test}.xml in dlib's byte layout (no newline at the end)."""
    written = []
    for split, title in (("train", "training"), ("test", "testing")):
        lines = [
            "<?xml version='1.0' encoding='ISO-8859-1'?>",
            "<?xml-stylesheet type='text/xsl' href='image_metadata_stylesheet.xsl'?>",
            "<dataset>",
            f"<name>iBUG face point dataset - {title} images</name>",
            f"<comment>Synthetic faces written by flmprep synth (seed {seed}).\n"
            "Coordinates are 0-based pixel centres.</comment>",
            "<images>",
        ]
        for image in (i for i in images if i.split == split):
            lines.append(f"  <image file='{image.path}' width='{image.width}' height='{image.height}'>")
            lines.extend(_dlib_box(face) for face in image.faces)
            lines.extend(
                f"    <box top='{y0}' left='{x0}' width='{x1 - x0 + 1}' height='{y1 - y0 + 1}' ignore='1'/>"
                for x0, y0, x1, y1 in image.ignored
            )
            lines.append("  </image>")
        lines += ["</images>", "</dataset>"]
        written.append(_write(root, f"labels_ibug_300W_{split}.xml", "\n".join(lines)))
    return written


def _dlib_box(face: SynthFace) -> str:
    x0, y0, x1, y1 = dlib_box(face)
    parts = [
        f"      <part name='{i:02d}' x='{x}' y='{y}'/>"
        for i, (x, y) in enumerate(np.asarray(face.landmarks, dtype=np.int64).tolist())
    ]
    head = f"    <box top='{y0}' left='{x0}' width='{x1 - x0 + 1}' height='{y1 - y0 + 1}'>"
    return "\n".join([head, *parts, "    </box>"])


def dlib_box(face: SynthFace) -> tuple[int, int, int, int]:
    """A detector-like square box (inclusive corners): the inner face, may leave the image; a
    mirror's is its original's, mirrored."""
    if face.detector_box is not None:
        return face.detector_box
    pts = face.landmarks
    cx, cy = pts[:, 0].mean(), pts[:, 1].mean() - 0.1 * face.pose.scale
    half = round(0.95 * face.pose.scale)
    x0, y0 = round(cx) - half, round(cy) - half
    return x0, y0, x0 + 2 * half - 1, y0 + 2 * half - 1


def wflw_rect(face: SynthFace) -> tuple[int, int, int, int]:
    """The WFLW-style rectangle: near the landmark extent but not enclosing it exactly."""
    lo, hi = face.landmarks.min(axis=0), face.landmarks.max(axis=0)
    pad = 0.06 * (hi - lo)
    x0, y0 = np.rint(lo + pad * np.array([1.0, 0.4]))
    x1, y1 = np.rint(hi - pad * np.array([1.0, -0.2]))
    return int(x0), int(y0), int(x1), int(y1)


def write_wflw(root: Path, images: list[SynthImage]) -> list[str]:
    """list_98pt_rect_attr_{train,test}.txt: 196 ``%f`` values, rect, 6 flags, path; one face a line."""
    written = []
    for split in ("train", "test"):
        rows = []
        for image in (i for i in images if i.split == split):
            rel = posixpath.relpath(image.path, "WFLW_images")
            for face in image.faces:
                coords = " ".join(f"{v:.6f}" for v in face.landmarks.ravel())
                rect = " ".join(str(v) for v in wflw_rect(face))
                flags = " ".join(str(face.attributes[a]) for a in WFLW_ATTRIBUTES)
                rows.append(f"{coords} {rect} {flags} {rel}\n")
        written.append(_write(root, f"{WFLW_LISTS}/list_98pt_rect_attr_{split}.txt", "".join(rows)))
    return written


def _stem(path: str) -> str:
    return posixpath.splitext(posixpath.basename(path))[0]


def write_helen(root: Path, images: list[SynthImage]) -> list[str]:
    """annotation/<n>.txt (image name line, then ``x , y`` lines; CRLF) and the split name lists."""
    written = []
    for n, image in enumerate(images, 1):
        body = "".join(f"{x:.2f} , {y:.2f}\n" for x, y in image.faces[0].landmarks)
        written.append(_write(root, f"annotation/{n}.txt", f"{_stem(image.path)}\n{body}", "\r\n"))
    for split in ("train", "test"):
        names = "".join(_stem(i.path) + "\n" for i in images if i.split == split)
        written.append(_write(root, f"{split}names.txt", names))
    return written


def write_pts(root: Path, images: list[SynthImage], closing: Callable[[int], bool]) -> list[str]:
    """<stem>.pts beside each image: 1-based ``%.6f`` points; ``closing(i)`` adds a newline after ``}``."""
    written = []
    for n, image in enumerate(images):
        points = "".join(f"{x + 1:.6f} {y + 1:.6f}\n" for x, y in image.faces[0].landmarks)
        k = image.faces[0].landmarks.shape[0]
        text = f"version: 1\nn_points:  {k}\n{{\n{points}}}" + ("\n" if closing(n) else "")
        written.append(_write(root, posixpath.splitext(image.path)[0] + ".pts", text))
    return written


def all_faces(images: Iterable[SynthImage]) -> Iterable[tuple[SynthImage, int, SynthFace]]:
    """(image, face index, face) for every written face, in annotation order."""
    for image in images:
        for index, face in enumerate(image.faces):
            yield image, index, face
