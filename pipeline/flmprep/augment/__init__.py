"""Seeded, replayable augmentation: named recipes, one matrix per view, photometric jitter.

The shard builder calls ``get_recipe``, ``plan_record`` (every view of a record, pixel-free),
``decode_reduce`` (the factor to decode the source at) and ``apply_plan``, and stores
``View.augment`` in the sample JSON; ``render_view`` does the same for one view, and
``replay_view`` re-renders a view from that dict.
"""

from flmprep.augment.base import Recipe
from flmprep.augment.config import PRESETS, OptionSpec, RecipeConfig, recipe_option_specs
from flmprep.augment.errors import REASONS, AugmentError
from flmprep.augment.params import PhotometricParams, ViewParams
from flmprep.augment.photometric import apply_photometric
from flmprep.augment.recipe import (
    RECIPES,
    View,
    ViewPlan,
    apply_plan,
    check_scheme,
    decode_reduce,
    get_recipe,
    plan_record,
    plan_view,
    render_view,
    replay_view,
    source_reduce,
)
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
    "ViewPlan",
    "apply_photometric",
    "apply_plan",
    "check_scheme",
    "decode_reduce",
    "get_recipe",
    "plan_record",
    "plan_view",
    "recipe_option_specs",
    "render_view",
    "replay_view",
    "rng_for",
    "seed_for",
    "source_reduce",
]
