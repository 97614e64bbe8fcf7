"""Recipe settings: one frozen ``RecipeConfig`` whose fields every recipe presets, and the
option specs from which ``flmprep build``, ``flmprep preview`` and the Spark job generate
their command-line options."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from flmprep.errors import ConfigError

INTERPOLATIONS = ("nearest", "linear", "cubic", "lanczos")


def _opt(default: Any, help: str, flag: str = "") -> Any:
    return field(default=default, metadata={"help": help, "flag": flag})


@dataclass(frozen=True)
class RecipeConfig:
    """Every recipe parameter; a recipe's preset sets the defaults (see ``PRESETS``)."""

    crops: int = _opt(1, "views (random crops) per training record; other splits get one canonical view")
    out_size: int = _opt(256, "output width and height in pixels")
    box_scale: float = _opt(1.25, "crop side as a multiple of the face box's larger side")
    scale_jitter: float = _opt(0.0, "crop side varies uniformly by ± this fraction")
    shift_jitter: float = _opt(0.0, "crop centre moves uniformly by ± this fraction of the crop side")
    max_angle: float = _opt(0.0, "rotation drawn uniformly from ± this many degrees")
    flip_prob: float = _opt(0.0, "probability of a horizontal flip (needs a scheme flip permutation)")
    forehead: float = _opt(1.4, "helen: keypoint-box height factor, extended towards the forehead")
    max_area: float = _opt(2.0, "helen: largest crop area as a multiple of the extended keypoint box")
    grey: bool = _opt(False, "write single-channel (luma) images", "--grey/--colour")
    photometric: bool = _opt(False, "photometric jitter on training views", "--photometric/--no-photometric")
    brightness: float = _opt(0.2, "brightness factor drawn from 1 ± this")
    contrast: float = _opt(0.2, "contrast factor (about the mean luma) drawn from 1 ± this")
    gamma: float = _opt(0.2, "gamma drawn from 1 ± this")
    saturation: float = _opt(0.3, "saturation factor drawn from 1 ± this")
    hue: float = _opt(0.05, "hue rotation drawn from ± this many turns (0.05 = 18 degrees)")
    interpolation: str = _opt("linear", "resampling kernel: nearest, linear, cubic or lanczos")

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, _coerce(f.name, getattr(self, f.name), type(f.default)))
        for problem in _problems(self):
            raise ConfigError(problem)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _coerce(name: str, value: Any, kind: type) -> Any:
    """``value`` as the field's type (an integral float for an int, an int for a float), so
    that equal settings give equal configs and equal manifest hashes."""
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"recipe option {name}: expected {kind.__name__}, found {value!r}")
    return value


def _problems(c: RecipeConfig) -> list[str]:
    """Every out-of-range field, as "name: expected X, found Y"."""
    checks: list[tuple[str, bool, str]] = [
        ("crops", c.crops >= 1, "an integer >= 1"),
        ("out_size", 8 <= c.out_size <= 4096, "an integer in 8..4096"),
        ("box_scale", 0.0 < c.box_scale <= 20.0, "a number in (0, 20]"),
        ("scale_jitter", 0.0 <= c.scale_jitter < 1.0, "a number in [0, 1)"),
        ("shift_jitter", 0.0 <= c.shift_jitter <= 1.0, "a number in [0, 1]"),
        ("max_angle", 0.0 <= c.max_angle <= 180.0, "degrees in [0, 180]"),
        ("flip_prob", 0.0 <= c.flip_prob <= 1.0, "a probability in [0, 1]"),
        ("forehead", 1.0 <= c.forehead <= 4.0, "a factor in [1, 4]"),
        ("max_area", 1.0 <= c.max_area <= 16.0, "a factor in [1, 16]"),
        ("brightness", 0.0 <= c.brightness < 1.0, "a number in [0, 1)"),
        ("contrast", 0.0 <= c.contrast < 1.0, "a number in [0, 1)"),
        ("gamma", 0.0 <= c.gamma < 1.0, "a number in [0, 1)"),
        ("saturation", 0.0 <= c.saturation <= 1.0, "a number in [0, 1]"),
        ("hue", 0.0 <= c.hue <= 0.5, "turns in [0, 0.5]"),
        ("interpolation", c.interpolation in INTERPOLATIONS, f"one of {', '.join(INTERPOLATIONS)}"),
    ]
    return [
        f"recipe option {n}: expected {want}, found {getattr(c, n)!r}" for n, ok, want in checks if not ok
    ]


#: The named presets: the values each recipe changes from the ``RecipeConfig`` defaults.
PRESETS: dict[str, dict[str, Any]] = {
    "celeba": {"crops": 20, "out_size": 96, "box_scale": 2.0, "scale_jitter": 0.1, "shift_jitter": 0.1},
    "wflw": {
        "out_size": 256,
        "box_scale": 1.25,
        "scale_jitter": 0.25,
        "shift_jitter": 0.05,
        "max_angle": 30.0,
        "flip_prob": 0.5,
    },
    "300w": {"out_size": 224, "box_scale": 1.0, "grey": True},
    "helen": {"out_size": 256, "max_angle": 15.0, "forehead": 1.4, "max_area": 2.0},
}

#: Fields each recipe reads besides the shared ones; overriding another recipe's field is an error.
_SHARED = frozenset(
    {
        "crops",
        "out_size",
        "max_angle",
        "flip_prob",
        "grey",
        "photometric",
        "brightness",
        "contrast",
        "gamma",
        "saturation",
        "hue",
        "interpolation",
    }
)
_SQUARE = _SHARED | {"box_scale", "scale_jitter", "shift_jitter"}
USED_FIELDS: dict[str, frozenset[str]] = {
    "celeba": _SQUARE,
    "wflw": _SQUARE,
    "300w": _SQUARE,
    "helen": _SHARED | {"forehead", "max_area"},
}


def make_config(recipe: str, overrides: dict[str, Any]) -> RecipeConfig:
    """The preset of ``recipe`` with ``overrides`` applied (None values are ignored)."""
    if recipe not in PRESETS:
        raise ConfigError(f"recipe: expected one of {', '.join(PRESETS)}, found {recipe!r}")
    given = {k: v for k, v in overrides.items() if v is not None}
    known = {f.name for f in fields(RecipeConfig)}
    for name in sorted(given):
        if name not in known:
            raise ConfigError(f"recipe option: expected one of {', '.join(sorted(known))}, found {name!r}")
        if name not in USED_FIELDS[recipe]:
            users = [r for r, used in USED_FIELDS.items() if name in used]
            raise ConfigError(f"recipe option {name}: used by {', '.join(users)}, not by recipe {recipe!r}")
    config = RecipeConfig(**{**PRESETS[recipe], **given})
    idle = sorted(name for name in given if name in PHOTOMETRIC_FIELDS) if not config.photometric else []
    if idle:
        raise ConfigError(f"recipe option {idle[0]}: expected --photometric with it (photometric jitter "
                          f"is off in recipe {recipe!r}, so it would change nothing), found it alone")
    return config


#: Options that only act when photometric jitter is on.
PHOTOMETRIC_FIELDS = frozenset({"brightness", "contrast", "gamma", "saturation", "hue"})


@dataclass(frozen=True)
class OptionSpec:
    """One recipe option for a command line: ``flag`` (e.g. ``--out-size`` or
    ``--grey/--colour``), Python ``type``, per-recipe ``defaults`` and ``help``."""

    name: str
    flag: str
    type: type
    defaults: dict[str, Any]
    help: str


def recipe_option_specs() -> list[OptionSpec]:
    """The options every entry point exposes (default None there = the recipe's preset)."""
    specs = []
    for f in fields(RecipeConfig):
        flag = f.metadata["flag"] or "--" + f.name.replace("_", "-")
        defaults = {r: make_config(r, {}).to_json()[f.name] for r in PRESETS if f.name in USED_FIELDS[r]}
        kind = type(f.default)
        shown = ", ".join(f"{r} {v}" for r, v in defaults.items())
        specs.append(OptionSpec(f.name, flag, kind, defaults, f"{f.metadata['help']} [preset: {shown}]"))
    return specs
