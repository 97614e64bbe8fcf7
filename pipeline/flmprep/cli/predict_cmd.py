"""``flmprep predict IMAGE_OR_FOLDER... --checkpoint CKPT | --onnx MODEL``: landmarks on photos.

Exit status: 0 every image gave faces; 1 some images were skipped (unreadable, no face, no box
entry), each named on stderr; 2 bad options or inputs that stop the command (a missing input, an
unusable model or boxes file, a refused output).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from flmprep import imageio
from flmprep.cli.errors import EXIT_OK, EXIT_PROBLEMS, GuardedCommand, fail
from flmprep.errors import FlmprepError
from flmprep.inference.calibration import ANNOTATED, HAAR
from flmprep.predict.predictor import DEFAULT_ITERATIONS, DEFAULT_MIN_FACE, DEFAULT_TOLERANCE

if TYPE_CHECKING:
    from flmprep.predict.predictor import FaceResult, Predictor


PROG = "flmprep predict"


@click.command("predict", cls=GuardedCommand)
@click.argument("inputs", nargs=-1, required=True)
@click.option("--checkpoint", type=click.Path(path_type=Path), help="Training checkpoint (needs torch).")
@click.option("--onnx", "onnx_model", type=click.Path(path_type=Path), help="`flmprep export --onnx` model.")
@click.option(
    "--boxes",
    "boxes_file",
    type=click.Path(path_type=Path),
    help='JSON {"image as given": [[left, top, right, bottom], ...]}, inclusive pixel corners.',
)
@click.option(
    "--detector",
    type=click.Choice(["haar"]),
    default=None,
    help="Face detector for images without boxes [default: haar when --boxes is not given].",
)
@click.option(
    "--min-face",
    type=click.IntRange(min=1),
    default=DEFAULT_MIN_FACE,
    show_default=True,
    help="Smallest face the detector reports, in pixels.",
)
@click.option(
    "--iterations",
    type=click.IntRange(min=1),
    default=DEFAULT_ITERATIONS,
    show_default=True,
    help="Passes per face (1: no refinement).",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0.0),
    default=DEFAULT_TOLERANCE,
    show_default=True,
    help="Stop refining when the mean point shift falls below this many source pixels.",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write one JSON object per face (and per skipped image) per line.",
)
@click.option(
    "--draw",
    "draw_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each photo with its landmarks drawn to this folder (PNG).",
)
@click.option(
    "--threads", type=click.IntRange(min=0), default=0, help="Model threads (0: the runtime's default)."
)
def predict(
    inputs: tuple[str, ...],
    checkpoint: Path | None,
    onnx_model: Path | None,
    boxes_file: Path | None,
    detector: str | None,
    min_face: int,
    iterations: int,
    tolerance: float,
    json_out: Path | None,
    draw_dir: Path | None,
    threads: int,
) -> None:
    """Put landmarks on every face of the images given (files, or folders of images).

    Faces come from --boxes or the Haar detector (frontal faces). Landmarks are in the source
    image's pixels (pixel centres at integers; EXIF orientation not applied).
    """
    from flmprep.predict import batch

    try:
        predictor = _predictor(checkpoint, onnx_model, iterations, tolerance, min_face, threads)
        names = batch.collect_images(inputs)
        boxes = None if boxes_file is None else batch.read_boxes(boxes_file)
        detect = boxes is None or detector == "haar"
        for source in ([HAAR] if detect else []) + ([] if boxes is None else [ANNOTATED]):
            predictor.meta.calibration.require(source)
        outputs = _open_outputs(json_out, draw_dir)
    except (FlmprepError, OSError) as exc:
        fail(PROG, str(exc))
    skipped = faces = 0
    taken: set[Path] = set()
    with outputs as sink:
        for outcome in batch.predict_images(
            predictor, names, boxes, detect, keep_pixels=draw_dir is not None
        ):
            for line in outcome.json_lines():
                sink.write(json.dumps(line, sort_keys=True) + "\n")
            if draw_dir is not None and outcome.pixels is not None:
                picture = batch.drawing(outcome.pixels, outcome.faces, predictor.scheme)
                batch.drawing_path(draw_dir, outcome.name, taken).write_bytes(imageio.encode(picture, "png"))
            if outcome.skipped:
                skipped += 1
                message = outcome.message.removeprefix(f"{outcome.name}: ")
                click.echo(f"flmprep predict: skipped {outcome.name}: {outcome.reason}: {message}", err=True)
                continue
            faces += len(outcome.faces)
            for face in outcome.faces:
                click.echo(_line(outcome.name, face))
    click.echo(f"{_count(faces, 'face')} in {len(names) - skipped} of {_count(len(names), 'image')} "
               f"({skipped} skipped)", err=True)
    sys.exit(EXIT_PROBLEMS if skipped else EXIT_OK)


def _predictor(
    checkpoint: Path | None,
    onnx_model: Path | None,
    iterations: int,
    tolerance: float,
    min_face: int,
    threads: int,
) -> Predictor:
    from flmprep.predict.predictor import Predictor

    if (checkpoint is None) == (onnx_model is None):
        raise click.UsageError("expected exactly one of --checkpoint and --onnx")
    options = {"iterations": iterations, "tolerance": tolerance, "min_face": min_face}
    if onnx_model is not None:
        return Predictor.from_onnx(onnx_model, threads=threads, **options)
    assert checkpoint is not None
    return Predictor.from_checkpoint(checkpoint, threads=threads, **options)


class _Sink:
    """The --json file (written to a temporary sibling, renamed when done) or nowhere."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.tmp = None if path is None else path.with_name(path.name + ".tmp")
        self.fh = None if self.tmp is None else self.tmp.open("w", encoding="utf-8")

    def write(self, text: str) -> None:
        if self.fh is not None:
            self.fh.write(text)

    def __enter__(self) -> _Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None and self.tmp is not None and self.path is not None:
            self.fh.close()
            self.tmp.replace(self.path)


def _open_outputs(json_out: Path | None, draw_dir: Path | None) -> _Sink:
    if draw_dir is not None:
        draw_dir.mkdir(parents=True, exist_ok=True)
    return _Sink(json_out)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _line(name: str, face: FaceResult) -> str:
    shifts = ", ".join(f"{s:.2f}" for s in face.shifts) or "-"
    box = ", ".join(f"{v:.0f}" for v in face.box)
    return (
        f"{name} face {face.index}: box [{box}] ({face.box_source}), {face.iterations} passes "
        f"(shifts {shifts} px), {face.seconds * 1000:.1f} ms"
    )
