"""``flmprep preview``: a contact sheet of a recipe's views with landmarks drawn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from flmprep.augment import RECIPES, get_recipe, recipe_option_specs
from flmprep.errors import ConfigError, FlipUnsupportedError, FlmprepError
from flmprep.formats import DATASETS
from flmprep.preview import preview as make_preview
from flmprep.preview import write_preview

F = TypeVar("F", bound=Callable[..., Any])


def recipe_options(func: F) -> F:
    """Add one option per recipe parameter (default: the recipe's preset)."""
    for spec in reversed(recipe_option_specs()):
        if spec.type is bool:
            func = click.option(spec.flag, spec.name, default=None, help=spec.help)(func)
        else:
            func = click.option(spec.flag, spec.name, type=spec.type, default=None, help=spec.help)(func)
    return func


@click.command("preview", context_settings={"max_content_width": 110})
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
    try:
        recipe = get_recipe(recipe_name, **overrides)
        result = make_preview(dataset, root, recipe, n=n, seed=seed, split=split, labels=labels)
    except (ConfigError, FlipUnsupportedError) as e:
        raise click.UsageError(str(e)) from e
    except (ValueError, FlmprepError) as e:
        raise click.ClickException(str(e)) from e
    write_preview(result, out)
    h, w = result.sheet.shape[:2]
    click.echo(
        f"wrote {out} ({w}×{h}): {result.views} views of {result.records} records, recipe {recipe_name}"
    )
    for line in result.skipped:
        click.echo(f"skipped {line}", err=True)
