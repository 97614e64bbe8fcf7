"""``flmprep synth DATASET OUT --n N --seed S``: write a synthetic dataset in a native layout."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from flmprep.cli.errors import GuardedCommand
from flmprep.synth import DATASETS, SynthResult, synthesize


@click.command("synth", cls=GuardedCommand)
@click.argument("dataset", type=click.Choice(DATASETS))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--n", "n", type=click.IntRange(min=1), default=20, show_default=True, help="Number of images.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed: same seed, same bytes.")
@click.option(
    "--image-format",
    type=click.Choice(["jpg", "png"]),
    default=None,
    help="Image files: jpg (quality 100, 4:4:4; the default) or png where the native layout allows.",
)
@click.option(
    "--mark-radius",
    type=click.FloatRange(min=0.0, min_open=True),
    default=None,
    help="Mark radius in source pixels [default: 0.1 x face scale, capped by landmark spacing].",
)
@click.option("--sparse-marks", is_flag=True, help="Mark only landmarks at least 2.5 mark radii apart.")
@click.option(
    "--max-faces", type=click.IntRange(min=1), default=None, help="Cap faces per image (300w, wflw)."
)
@click.option(
    "--all-folders",
    is_flag=True,
    help="300w only: images from all six 300W folders (afw, helen/trainset, helen/testset, lfpw/trainset, "
    "lfpw/testset, ibug) in both XML files, plus dlib-style _mirror.jpg copies of some, as dlib's files "
    "mix them: a tree for 'scan --protocol 300w'.",
)
@click.option("--overwrite", is_flag=True, help="Replace the contents of a non-empty OUT.")
def synth(
    dataset: str,
    out: Path,
    n: int,
    seed: int,
    image_format: str | None,
    mark_radius: float | None,
    sparse_marks: bool,
    max_faces: int | None,
    all_folders: bool,
    overwrite: bool,
) -> None:
    """Write N synthetic images of DATASET with its native annotation files under OUT.

    Each landmark is drawn as a small mark whose colour encodes its index
    (flmprep.synth.marks.find_marks recovers them); the annotations hold exactly the drawn positions.
    """
    result = synthesize(
        dataset,
        out,
        n,
        seed,
        image_format=image_format,
        mark_radius=mark_radius,
        sparse_marks=sparse_marks,
        max_faces=max_faces,
        overwrite=overwrite,
        all_folders=all_folders,
    )
    click.echo(summary(result))


def summary(result: SynthResult) -> str:
    """What was written: images and faces per split, then the annotation files."""
    images = Counter(i.split for i in result.images)
    faces = Counter(r.split for r in result.records)
    lines = [f"{result.dataset}: {len(result.images)} images, {len(result.records)} faces in {result.root}"]
    lines += [f"  {split:<6} {images[split]:>6} images {faces[split]:>6} faces" for split in images]
    image_files = {i.path for i in result.images}
    lines += [f"  wrote {path}" for path in result.files if path not in image_files]
    return "\n".join(lines)
