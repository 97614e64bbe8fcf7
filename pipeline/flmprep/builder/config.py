"""The build configuration: one frozen value, its click options, and the output-folder guard.

``BuildConfig.to_json()`` holds only what changes the bytes of the output (no paths, no run
modes), so the same inputs and config give the same ``config_hash`` on any machine.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

import click

from flmprep import augment, formats
from flmprep.errors import ConfigError, FlipUnsupportedError

F = TypeVar("F", bound=Callable[..., Any])

IMAGE_FORMATS = ("jpg", "png", "webp")
ON_ERROR = ("fail", "skip")
DEFAULT_SAMPLES_PER_SHARD = 1000
#: Records per probe task (stat + header read of each image).
PROBE_CHUNK = 512
#: The recipe each dataset builds with unless ``--recipe`` says otherwise.
DEFAULT_RECIPES: dict[str, str] = {
    "celeba": "celeba",
    "celeba-aligned": "celeba",
    "300w": "300w",
    "wflw": "wflw",
    "helen": "helen",
    "pts": "300w",
}
#: Estimated encoded bytes per output pixel and channel, used only to turn --shard-bytes into a
#: sample count (tar headers and JSON add ``SAMPLE_OVERHEAD`` bytes per sample).
BYTES_PER_PIXEL = {"jpg": 0.35, "webp": 0.25, "png": 2.0}
SAMPLE_OVERHEAD = 2048


@dataclass(frozen=True)
class BuildConfig:
    """Everything a build needs. ``root``/``out`` are locations and ``resume``/``overwrite`` run
    modes: neither enters ``to_json()``/``hash()``. ``recipe_params`` are the recipe overrides."""

    dataset: str
    root: str
    out: str
    recipe: str
    recipe_params: Mapping[str, Any] = field(default_factory=dict)
    splits: tuple[str, ...] | None = None
    samples_per_shard: int = DEFAULT_SAMPLES_PER_SHARD
    image_format: str = "jpg"
    quality: int = 95
    heatmaps: bool = False
    heatmap_size: tuple[int, int] = (64, 64)
    sigma: float = 2.5
    seed: int = 0
    on_error: str = "skip"
    max_reject_ratio: float = 0.01
    resume: bool = False
    overwrite: bool = False
    probe_chunk: int = PROBE_CHUNK

    def __post_init__(self) -> None:
        _validate(self)

    def to_json(self) -> dict[str, Any]:
        """The resolved, content-defining config (what the manifest records and the hash covers)."""
        return {
            "dataset": self.dataset,
            "scheme": formats.scheme_of(self.dataset),
            "recipe": self.recipe,
            "recipe_params": {k: _plain(v) for k, v in sorted(self.recipe_params.items())},
            "recipe_config": self.make_recipe().to_json()["config"],
            "splits": None if self.splits is None else list(self.splits),
            "samples_per_shard": self.samples_per_shard,
            "image_format": self.image_format,
            "quality": self.quality,
            "heatmaps": self.heatmaps,
            "heatmap_size": list(self.heatmap_size) if self.heatmaps else None,
            "sigma": self.sigma if self.heatmaps else None,
            "seed": self.seed,
            "on_error": self.on_error,
            "max_reject_ratio": self.max_reject_ratio,
        }

    def hash(self) -> str:
        """sha256 hex of the canonical JSON of ``to_json()``."""
        return hashlib.sha256(canonical_json(self.to_json())).hexdigest()

    def make_recipe(self) -> augment.Recipe:
        """The recipe object this config builds with."""
        return augment.get_recipe(self.recipe, **dict(self.recipe_params))

    @property
    def out_path(self) -> Path:
        return Path(self.out)

    @property
    def root_path(self) -> Path:
        return Path(self.root)


def canonical_json(doc: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the byte form used for hashes and written files."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode()


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _validate(cfg: BuildConfig) -> None:
    checks: list[tuple[bool, str, str, object]] = [
        (cfg.dataset in DEFAULT_RECIPES, "--dataset", f"one of {', '.join(DEFAULT_RECIPES)}", cfg.dataset),
        (cfg.image_format in IMAGE_FORMATS, "--image-format", "jpg, png or webp", cfg.image_format),
        (1 <= cfg.quality <= 100, "--quality", "an integer in 1..100", cfg.quality),
        (cfg.samples_per_shard >= 1, "--samples-per-shard", "a positive integer", cfg.samples_per_shard),
        (min(cfg.heatmap_size) >= 1, "--heatmap-size", "positive WxH", cfg.heatmap_size),
        (math.isfinite(cfg.sigma) and cfg.sigma > 0, "--sigma", "a positive number", cfg.sigma),
        (cfg.seed >= 0, "--seed", "a non-negative integer", cfg.seed),
        (cfg.on_error in ON_ERROR, "--on-error", "fail or skip", cfg.on_error),
        (0.0 <= cfg.max_reject_ratio <= 1.0, "--max-reject-ratio", "a number in [0, 1]",
         cfg.max_reject_ratio),
        (not (cfg.resume and cfg.overwrite), "--resume/--overwrite", "at most one of them", "both"),
        (cfg.probe_chunk >= 1, "probe_chunk", "a positive integer", cfg.probe_chunk),
    ]
    for ok, name, expected, found in checks:
        if not ok:
            raise ConfigError(f"{name}: expected {expected}, found {found!r}")
    if cfg.recipe not in augment.RECIPES:
        raise ConfigError(f"--recipe: expected one of {', '.join(augment.RECIPES)}, found {cfg.recipe!r}")
    try:
        augment.check_scheme(cfg.make_recipe(), formats.scheme_of(cfg.dataset))
    except FlipUnsupportedError as exc:
        raise ConfigError(f"--recipe {cfg.recipe} on --dataset {cfg.dataset}: {exc}") from exc


# --- command-line options shared by `flmprep build` and `jobs/build_shards.py` ------------------


def _size(value: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """Parse "64" or "64x48" (width x height)."""
    if value is None or isinstance(value, tuple):
        return value
    parts = value.lower().split("x")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) not in (1, 2) or min(nums, default=0) < 1:
        raise click.BadParameter(f"expected N or WxH with positive integers, found {value!r}")
    return (nums[0], nums[-1])


def _size_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    return _size(value)


def _splits(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(s.strip() for s in value.split(",") if s.strip())
    if not names:
        raise click.BadParameter(f"expected a comma-separated list of split names, found {value!r}")
    return names


def _splits_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...] | None:
    return _splits(value)


_BUILD_OPTIONS: list[Callable[[F], F]] = [
    click.option("--dataset", required=True, type=click.Choice(sorted(DEFAULT_RECIPES)),
                 help="Dataset layout under --root."),
    click.option("--root", required=True, type=click.Path(exists=True, file_okay=False),
                 help="Folder holding the dataset's native files."),
    click.option("--out", required=True, type=click.Path(file_okay=False),
                 help="Output folder: OUT/<split>/shard-NNNN.tar, manifest.json, rejects.jsonl."),
    click.option("--recipe", default=None,
                 help="Augmentation recipe (default: the dataset's: celeba, 300w, wflw or helen)."),
    click.option("--splits", default=None, callback=_splits_callback,
                 help="Comma-separated splits to build, e.g. train,test (default: all)."),
    click.option("--samples-per-shard", type=int, default=None,
                 help=f"Samples per shard; every shard but a split's last holds exactly this many "
                      f"(default {DEFAULT_SAMPLES_PER_SHARD})."),
    click.option("--shard-bytes", type=int, default=None,
                 help="Target shard size in bytes instead of --samples-per-shard (turned into a sample "
                      "count from the output size and format)."),
    click.option("--image-format", type=click.Choice(IMAGE_FORMATS), default="jpg", show_default=True,
                 help="Codec of the output images."),
    click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True,
                 help="JPEG/WebP quality."),
    click.option("--heatmaps/--no-heatmaps", default=False, show_default=True,
                 help="Also store Gaussian heatmaps as a tiled uint8 PNG member KEY.hm.png."),
    click.option("--heatmap-size", default="64x64", show_default=True, callback=_size_callback,
                 help="Heatmap size, N or WxH."),
    click.option("--sigma", type=float, default=2.5, show_default=True, help="Heatmap σ in heatmap pixels."),
    click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                 help="Build seed: same inputs + config + seed give byte-identical output."),
    click.option("--on-error", type=click.Choice(ON_ERROR), default="skip", show_default=True,
                 help="Bad record: skip it (listed in rejects.jsonl) or stop the build."),
    click.option("--max-reject-ratio", type=click.FloatRange(0, 1), default=0.01, show_default=True,
                 help="Exit non-zero (after writing everything) when rejected/input records exceed this."),
    click.option("--resume", is_flag=True, default=False,
                 help="Continue a build in OUT: keep shards whose sha256 checks out, rebuild the rest."),
    click.option("--overwrite", is_flag=True, default=False,
                 help="Delete a previous flmprep build in OUT first (refused if OUT holds other files)."),
]


def _recipe_options() -> list[Callable[[F], F]]:
    """One click option per recipe parameter, as ``flmprep.augment.recipe_option_specs`` lists
    them; every default is None (= the recipe's preset)."""
    out: list[Callable[[F], F]] = []
    for spec in augment.recipe_option_specs():
        if spec.type is bool:
            out.append(click.option(spec.flag, spec.name, default=None, help=spec.help))
        else:
            out.append(click.option(spec.flag, spec.name, type=spec.type, default=None, help=spec.help))
    return out


def build_options(func: F) -> F:
    """Decorate a click command with every build option and every recipe option."""
    for option in reversed(_BUILD_OPTIONS + _recipe_options()):
        func = option(func)
    return func


def _recipe_param_names() -> set[str]:
    return {spec.name for spec in augment.recipe_option_specs()}


def from_options(**kwargs: Any) -> BuildConfig:
    """The BuildConfig for the values of ``build_options`` (unset recipe options keep the recipe's
    defaults); raises ConfigError on unknown or inconsistent values."""
    opts = dict(kwargs)
    recipe_names = _recipe_param_names()
    recipe_params = {k: opts.pop(k) for k in list(opts) if k in recipe_names}
    recipe_params = {k: v for k, v in recipe_params.items() if v is not None}
    known = {f.name for f in fields(BuildConfig)} | {"shard_bytes"}
    unknown = sorted(set(opts) - known)
    if unknown:
        raise ConfigError(f"build options: expected only build and recipe options, "
                          f"found {', '.join(unknown)}")
    dataset = opts["dataset"]
    if dataset not in DEFAULT_RECIPES:
        raise ConfigError(f"--dataset: expected one of {', '.join(DEFAULT_RECIPES)}, found {dataset!r}")
    opts["recipe"] = opts.get("recipe") or DEFAULT_RECIPES[dataset]
    opts["root"] = str(Path(opts["root"]).resolve())
    opts["out"] = str(Path(opts["out"]).resolve())
    opts["recipe_params"] = recipe_params
    if opts.get("heatmap_size") is not None:
        opts["heatmap_size"] = _size(opts["heatmap_size"])
    else:
        opts.pop("heatmap_size", None)
    if isinstance(opts.get("splits"), str):
        opts["splits"] = _splits(opts["splits"])
    shard_bytes = opts.pop("shard_bytes", None)
    if shard_bytes is not None and opts.get("samples_per_shard") is not None:
        raise ConfigError("--samples-per-shard/--shard-bytes: expected at most one of them, found both")
    if opts.get("samples_per_shard") is None:
        opts.pop("samples_per_shard", None)
    cfg = BuildConfig(**{k: v for k, v in opts.items() if v is not None or k == "splits"})
    if shard_bytes is not None:
        cfg = _with_shard_bytes(cfg, int(shard_bytes))
    return cfg


def _with_shard_bytes(cfg: BuildConfig, shard_bytes: int) -> BuildConfig:
    """Turn a byte target into a fixed sample count (estimated bytes per sample from the recipe)."""
    if shard_bytes < 1:
        raise ConfigError(f"--shard-bytes: expected a positive integer, found {shard_bytes}")
    per_sample = estimate_sample_bytes(cfg)
    values = {f.name: getattr(cfg, f.name) for f in fields(cfg)}
    values["samples_per_shard"] = max(1, shard_bytes // per_sample)
    return BuildConfig(**values)


def estimate_sample_bytes(cfg: BuildConfig) -> int:
    """A fixed estimate of one sample's bytes in a tar (image + JSON + headers [+ heatmaps])."""
    recipe = cfg.make_recipe().config
    channels = 1 if recipe.grey else 3
    image = recipe.out_size * recipe.out_size * channels * BYTES_PER_PIXEL[cfg.image_format]
    heat = cfg.heatmap_size[0] * cfg.heatmap_size[1] * 0.3 * 16 if cfg.heatmaps else 0.0
    return int(image + heat) + SAMPLE_OVERHEAD


# --- the output folder ---------------------------------------------------------------------------


def prepare_output(cfg: BuildConfig) -> None:
    """Create OUT and record the config; refuse a non-empty OUT unless resuming the same config
    or overwriting a previous flmprep build (see ``flmprep.builder.outdir``)."""
    from flmprep.builder import outdir

    outdir.prepare(cfg)
