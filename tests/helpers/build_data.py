"""A tiny CelebA in-the-wild dataset for build tests (exact native layout, CRLF, few images),
plus the bad-input kinds the builder must turn into rejects. Owned by the build tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

PARTS = ("lefteye", "righteye", "nose", "leftmouth", "rightmouth")
HEADER_LM = " ".join(f"{p}_{a}" for p in PARTS for a in "xy")
HEADER_BOX = "image_id x_1 y_1 width height"


def _image(rng: np.random.Generator, w: int, h: int) -> bytes:
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)), (xx + yy) % 256], axis=2)
    noise = rng.integers(0, 40, size=(h, w, 3))
    pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return bytes(buf)


def _face(rng: np.random.Generator, w: int, h: int) -> tuple[list[int], list[int]]:
    cx, cy = w / 2 + rng.uniform(-8, 8), h / 2 + rng.uniform(-8, 8)
    s = min(w, h) / 5
    pts = [(cx - s, cy - s * 0.6), (cx + s, cy - s * 0.6), (cx, cy),
           (cx - s * 0.8, cy + s), (cx + s * 0.8, cy + s)]
    lm = [round(v) for p in pts for v in p]
    box = [int(cx - 1.6 * s), int(cy - 1.8 * s), int(3.2 * s), int(3.4 * s)]
    return lm, box


def write_celeba(root: Path, n: int, seed: int = 0, splits: tuple[int, int, int] | None = None) -> Path:
    """Write ``n`` faces in CelebA's in-the-wild layout under ``root``; returns ``root``.

    ``splits`` = (train, val, test) counts (default: 60/20/20 %, at least one test record)."""
    rng = np.random.default_rng(seed)
    (root / "Anno").mkdir(parents=True, exist_ok=True)
    (root / "Eval").mkdir(exist_ok=True)
    (root / "img_celeba").mkdir(exist_ok=True)
    if splits is None:
        test = max(1, n // 5)
        val = n // 5
        splits = (n - val - test, val, test)
    parts = [0] * splits[0] + [1] * splits[1] + [2] * splits[2]
    assert len(parts) == n
    lm_lines, box_lines, part_lines = [str(n), HEADER_LM], [str(n), HEADER_BOX], []
    for i in range(1, n + 1):
        w, h = int(rng.integers(120, 200)), int(rng.integers(120, 200))
        name = f"{i:06d}.jpg"
        (root / "img_celeba" / name).write_bytes(_image(rng, w, h))
        lm, box = _face(rng, w, h)
        lm_lines.append(name + "".join(f" {v:4d}" for v in lm))
        box_lines.append(name + "".join(f" {v:4d}" for v in box))
        part_lines.append(f"{name} {parts[i - 1]}")
    for path, lines in ((root / "Anno" / "list_landmarks_celeba.txt", lm_lines),
                        (root / "Anno" / "list_bbox_celeba.txt", box_lines),
                        (root / "Eval" / "list_eval_partition.txt", part_lines)):
        path.write_bytes("".join(line + "\r\n" for line in lines).encode())
    return root


def image_path(root: Path, index: int) -> Path:
    """The image of record ``index`` (1-based)."""
    return root / "img_celeba" / f"{index:06d}.jpg"


def corrupt(root: Path, index: int, kind: str) -> None:
    """Make record ``index`` bad in one of the ways the builder must reject.

    kinds: missing, empty, truncated (valid header, cut body), not_image, too_small (tiny image
    whose landmarks fall outside it)."""
    path = image_path(root, index)
    if kind == "missing":
        path.unlink()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "not_image":
        path.write_bytes(b"this is not an image, just text\n" * 10)
    elif kind == "too_small":
        path.write_bytes(_image(np.random.default_rng(index), 12, 12))
    else:
        raise ValueError(f"corrupt: unknown kind {kind!r}")
