"""``flmprep preview``: the contact sheet library call and the click command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from flmprep import draw
from flmprep.augment import get_recipe, render_view
from flmprep.cli import main
from flmprep.formats import read_dataset
from flmprep.imageio import decode, read_image
from flmprep.preview import preview
from flmprep.synth import synthesize


@pytest.fixture(scope="module")
def celeba_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("preview") / "celeba"
    synthesize("celeba-aligned", root, 6, 5, image_format="png")
    return root


def test_sheet_shows_views_with_left_and_right_colours(celeba_root: Path) -> None:
    recipe = get_recipe("celeba")
    result = preview("celeba-aligned", celeba_root, recipe, n=8, seed=3)
    assert result.views == 8 and result.records >= 2 and not result.skipped
    first = next(r for r in read_dataset("celeba-aligned", celeba_root) if r.split == "train")
    view = render_view(
        recipe, read_image(celeba_root / first.image).pixels, first, view=0, build_seed=3, split="train"
    )
    for index, colour in ((0, draw.LEFT_COLOUR), (1, draw.RIGHT_COLOUR)):  # left eye, right eye
        x, y = np.rint(view.landmarks[index]).astype(int) + draw.GAP  # first tile's corner
        assert tuple(result.sheet[y, x]) == colour


def test_preview_command_writes_a_png(celeba_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    args = [
        "preview",
        "celeba-aligned",
        str(celeba_root),
        "--recipe",
        "wflw",
        "--n",
        "3",
        "--seed",
        "1",
        "--out",
        str(out),
        "--max-angle",
        "10",
        "--photometric",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output and "3 views of 3 records, recipe wflw" in result.output
    sheet = decode(out.read_bytes())
    assert sheet.width > 2 * 256 and sheet.height > 2 * 256  # 3 tiles in a 2 × 2 grid


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--recipe", "celeba", "--forehead", "1.2"],
            "recipe option forehead: used by helen, not by recipe 'celeba'",
        ),
        (["--recipe", "wflw", "--flip-prob", "2"], "flip_prob: expected a probability in [0, 1], found 2.0"),
    ],
)
def test_preview_refuses_bad_options(
    celeba_root: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    result = CliRunner().invoke(
        main, ["preview", "celeba-aligned", str(celeba_root), *extra, "--out", str(tmp_path / "x.png")]
    )
    assert result.exit_code == 2
    assert message in result.output


def test_preview_refuses_an_extension_it_cannot_write(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from flmprep.cli.preview_cmd import preview

    (tmp_path / "data").mkdir()
    result = CliRunner().invoke(preview, ["celeba", str(tmp_path / "data"), "--recipe", "celeba",
                                          "--out", str(tmp_path / "p.gif")])
    assert result.exit_code == 2 and "expected a file ending in .png, .jpg, .jpeg" in result.output
    assert not (tmp_path / "p.gif").exists()


def test_preview_of_an_unknown_split_lists_the_splits(celeba_root: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["preview", "celeba-aligned", str(celeba_root), "--recipe", "celeba",
                                       "--split", "tset", "--out", str(tmp_path / "p.png")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.strip() == (
        f"flmprep preview: error: celeba-aligned at {celeba_root}: expected split 'tset', found splits: "
        "test, train, val")
