"""Recipe throughput per core: ``python -m benchmarks.bench_recipes``.

For each recipe, in one run on one core (``cv2.setNumThreads(1)``), samples/s of a whole unit
(decode the JPEG once, render the recipe's views, encode each as JPEG q95) beside:
(a) a bare kernel: the same decode, one ``cv2.warpAffine`` per view (with the recipe's own
matrices, so it warps the same crops), the same encode;
(b) albumentations done the usual way: rotate the full image, crop near the face box, resize,
ColorJitter, ``KeypointParams`` (Compose built once), the same decode and encode.
Rates are samples per CPU-second of this process (``time.process_time``), the best of rounds
that alternate between the four variants, so that other processes on a shared machine disturb
them alike.
The source is a real photo (tests/data/imageio) resized to an in-the-wild size, with a
template face of the recipe's scheme laid on it. Runs in about a minute.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import albumentations as A
import cv2
import numpy as np

from benchmarks._common import machine, table
from flmprep import imageio
from flmprep.augment import Recipe, ViewPlan, apply_plan, get_recipe, plan_record
from flmprep.records import FaceRecord
from flmprep.synth.faces import template

PHOTO = Path(__file__).resolve().parents[1] / "tests" / "data" / "imageio" / "2008_001009.jpg"


@dataclass(frozen=True)
class Case:
    """One recipe on one source: image size, scheme and face scale (pixels per template unit)."""

    recipe: str
    size: tuple[int, int]
    scheme: str
    face_scale: float


CASES = [
    Case("celeba", (500, 400), "celeba5", 90.0),
    Case("wflw", (1024, 768), "wflw98", 150.0),
    Case("300w", (1024, 768), "ibug68", 150.0),
    Case("helen", (1024, 768), "helen194", 150.0),
]


def source(case: Case) -> tuple[bytes, FaceRecord]:
    """JPEG q95 bytes of the photo at the case's size and a record with a template face."""
    photo = imageio.read_image(PHOTO).pixels
    w, h = case.size
    pixels = cv2.resize(photo, case.size, interpolation=cv2.INTER_AREA)
    points = template(case.scheme) * case.face_scale + (w / 2, h / 2)
    rec = FaceRecord("bench_f0", "bench", "train", "bench.jpg", 0, case.scheme, points.astype(np.float32))
    return imageio.encode(pixels, "jpg", 95), rec


def recipe_unit(recipe: Recipe, data: bytes, rec: FaceRecord, size: tuple[int, int]) -> int:
    """Plan every training view, decode once (RGBX for several views, as the shard builder
    does), render and encode each view; returns the samples made."""
    face, plans = plan_record(recipe, rec, size, build_seed=1, split="train")
    pixels = imageio.decode(data, channels=4 if len(plans) > 1 else 3).pixels
    for plan in plans:
        imageio.encode(apply_plan(recipe, pixels, rec, face.points, plan).pixels, "jpg", 95)
    return len(plans)


def bare_unit(data: bytes, matrices: list[np.ndarray], out: int) -> int:
    """Decode once, then per view one warpAffine (the recipe's own matrix) and one encode."""
    pixels = imageio.decode(data).pixels
    for matrix in matrices:
        imageio.encode(cv2.warpAffine(pixels, matrix, (out, out)), "jpg", 95)
    return len(matrices)


def albumentations_pipeline(recipe: Recipe) -> A.Compose:
    """The recipe's operations as albumentations users write them (built once)."""
    c = recipe.config
    ops: list[A.BasicTransform] = []
    if c.max_angle:
        ops.append(A.Rotate(limit=c.max_angle, border_mode=cv2.BORDER_CONSTANT, p=1.0))
    ops += [A.RandomCropNearBBox(max_part_shift=(0.0, 0.0), p=1.0), A.Resize(c.out_size, c.out_size)]
    if c.flip_prob:
        ops.append(A.HorizontalFlip(p=c.flip_prob))
    ops.append(A.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.3, hue=0.05, p=1.0))
    if c.grey:
        ops.append(A.ToGray(p=1.0))
    return A.Compose(ops, keypoint_params=A.KeypointParams(format="xy", remove_invisible=False), seed=1)


def albumentations_unit(pipe: A.Compose, data: bytes, rec: FaceRecord, boxes: list[list[int]]) -> int:
    """Decode once, then per view the pipeline on the full image and one encode."""
    pixels = imageio.decode(data).pixels
    points = rec.landmarks.tolist()
    for box in boxes:
        out = pipe(image=pixels, keypoints=points, cropping_bbox=box)
        imageio.encode(np.ascontiguousarray(out["image"]), "jpg", 95)
    return len(boxes)


def view_plans(recipe: Recipe, rec: FaceRecord, size: tuple[int, int]) -> list[ViewPlan]:
    """The recipe's training views of ``rec`` (pixel-free)."""
    return plan_record(recipe, rec, size, build_seed=1, split="train")[1]


def crop_boxes(plans: list[ViewPlan], size: tuple[int, int]) -> list[list[int]]:
    """The views' crop boxes (integer pixels), so albumentations crops the same sizes."""
    boxes = []
    for plan in plans:
        x0, y0, x1, y1 = (round(b) for b in plan.params.box)
        boxes.append([max(x0, 0), max(y0, 0), min(x1, size[0]), min(y1, size[1])])
    return boxes


def view_matrices(plans: list[ViewPlan]) -> list[np.ndarray]:
    """The views' 2×3 source → output matrices: the bare kernel warps the same crops."""
    return [plan.params.matrix()[:2] for plan in plans]


def interleaved_rates(
    units: dict[str, Callable[[], int]], seconds: float, rounds: int = 7
) -> dict[str, float]:
    """Samples per CPU-second of each unit: rounds alternate between the units (so a busy
    neighbour slows them alike) and each keeps its best round. CPU time (``process_time``)
    counts only this process's work on its one core."""
    reps = {}
    for name, unit in units.items():
        unit()
        t0 = time.process_time()
        n = 0
        while time.process_time() - t0 < seconds / rounds / len(units):
            n += unit()
        reps[name] = max(1, n)
    best = dict.fromkeys(units, 0.0)
    for _ in range(rounds):
        for name, unit in units.items():
            done, t0 = 0, time.process_time()
            while done < reps[name]:
                done += unit()
            best[name] = max(best[name], done / (time.process_time() - t0))
    return best


def bench_case(case: Case, seconds: float) -> list[str]:
    data, rec = source(case)
    plain = get_recipe(case.recipe)
    jitter = get_recipe(case.recipe, photometric=True)
    views = plain.num_views("train")
    plans = view_plans(plain, rec, case.size)
    matrices = view_matrices(plans)
    pipe = albumentations_pipeline(plain)
    boxes = crop_boxes(plans, case.size)
    rates = interleaved_rates(
        {
            "bare": lambda: bare_unit(data, matrices, plain.config.out_size),
            "recipe": lambda: recipe_unit(plain, data, rec, case.size),
            "recipe+photometric": lambda: recipe_unit(jitter, data, rec, case.size),
            "albumentations": lambda: albumentations_unit(pipe, data, rec, boxes),
        },
        seconds,
    )
    w, h = case.size
    label = f"`{case.recipe}` ×{views}" if views > 1 else f"`{case.recipe}`"
    return [
        label,
        f"{w}×{h} → {plain.config.out_size}",
        *(f"{rates[k]:,.0f}" for k in rates),
        f"{rates['recipe'] / rates['bare']:.2f}×",
        f"{rates['recipe+photometric'] / rates['albumentations']:.2f}×",
    ]


def main(seconds: float = 6.0) -> None:
    cv2.setNumThreads(1)
    print(f"Machine: {machine()}, albumentations {A.__version__}")
    print("One core; samples per CPU-second, best of 7 interleaved rounds")
    rows = [bench_case(case, seconds) for case in CASES]
    header = [
        "recipe",
        "source → out",
        "bare kernel /s",
        "recipe /s",
        "recipe + photometric /s",
        "albumentations /s",
        "recipe ÷ bare",
        "recipe+ph ÷ albumentations",
    ]
    table("Recipe throughput, samples/s per core (decode + views + JPEG q95 encode)", header, rows)
    print("\nTargets: celeba ×20 ≥ 0.85× bare; helen and wflw ≥ 2× albumentations.")


if __name__ == "__main__":
    main()
