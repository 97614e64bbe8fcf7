"""``flmprep preview``: a contact sheet of a recipe's views with landmarks drawn."""

from __future__ import annotations

from typing import Any

import click

from flmprep.augment import RECIPES, get_recipe
from flmprep.builder.config import recipe_options
from flmprep.cli.errors import GuardedCommand
from flmprep.formats import DATASETS
from flmprep.preview import preview as make_preview
from flmprep.preview import write_preview

#: What ``--out`` may end in: the codecs the sheet can be written with.
SHEET_SUFFIXES = (".png", ".jpg", ".jpeg")


def _sheet_path(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value.lower().endswith(SHEET_SUFFIXES):
        raise click.BadParameter(f"expected a file ending in {', '.join(SHEET_SUFFIXES)}, found {value!r}")
    return value


@click.command("preview", cls=GuardedCommand, context_settings={"max_content_width": 110})
@click.argument("dataset", type=click.Choice(sorted(DATASETS)))
@click.argument("root", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--recipe", "recipe_name", type=click.Choice(RECIPES), required=True, help="Augmentation recipe."
)
@click.option("--n", "n", type=click.IntRange(min=1), default=16, show_default=True, help="Views to show.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Build seed.")
@click.option("--split", default="train", show_default=True, help="Split to preview (train: random views).")
@click.option("--labels/--no-labels", default=False, show_default=True, help="Write point indices.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default="preview.png",
    show_default=True,
    callback=_sheet_path,
    help="Output image (.png, or .jpg).",
)
@recipe_options
def preview(
    dataset: str,
    root: str,
    recipe_name: str,
    n: int,
    seed: int,
    split: str,
    labels: bool,
    out: str,
    **overrides: Any,
) -> None:
    """Render N augmented views of DATASET at ROOT with RECIPE and tile them into one image."""
    recipe = get_recipe(recipe_name, **overrides)
    try:
        result = make_preview(dataset, root, recipe, n=n, seed=seed, split=split, labels=labels)
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    write_preview(result, out)
    h, w = result.sheet.shape[:2]
    click.echo(
        f"wrote {out} ({w}×{h}): {result.views} views of {result.records} records, recipe {recipe_name}"
    )
    for line in result.skipped:
        click.echo(f"skipped {line}", err=True)
