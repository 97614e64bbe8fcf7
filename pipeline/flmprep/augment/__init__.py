"""Seeded, replayable augmentation: named recipes, one matrix per view, photometric jitter.

The shard builder calls ``get_recipe``, ``Recipe.num_views``, ``render_view`` and stores
``View.augment`` in the sample JSON; ``replay_view`` re-renders a view from that dict.
"""

from flmprep.augment.base import Recipe
from flmprep.augment.config import PRESETS, OptionSpec, RecipeConfig, recipe_option_specs
from flmprep.augment.errors import REASONS, AugmentError
from flmprep.augment.params import PhotometricParams, ViewParams
from flmprep.augment.photometric import apply_photometric
from flmprep.augment.recipe import RECIPES, View, check_scheme, get_recipe, render_view, replay_view
from flmprep.augment.seeding import rng_for, seed_for

__all__ = [
    "PRESETS",
    "REASONS",
    "RECIPES",
    "AugmentError",
    "OptionSpec",
    "PhotometricParams",
    "Recipe",
    "RecipeConfig",
    "View",
    "ViewParams",
    "apply_photometric",
    "check_scheme",
    "get_recipe",
    "recipe_option_specs",
    "render_view",
    "replay_view",
    "rng_for",
    "seed_for",
]
