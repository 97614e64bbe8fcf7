"""The build configuration: one frozen value whose fields also define the command-line options.

Each option-bearing field carries an ``Opt`` in its metadata; ``build_options`` turns the fields
(plus ``--shard-bytes`` and one option per recipe parameter) into click options, so every
default is written once, here. ``BuildConfig.to_json()`` holds only what changes the bytes of
the output (no paths, no run modes), so the same inputs and config give the same
``config_hash`` on any machine.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

import click

from flmprep import augment, formats
from flmprep.errors import ConfigError, FlipUnsupportedError
from flmprep.jsonio import canonical_json

F = TypeVar("F", bound=Callable[..., Any])

IMAGE_FORMATS = ("jpg", "png", "webp")
ON_ERROR = ("fail", "skip")


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


def _splits(value: str | tuple[str, ...] | None) -> tuple[str, ...] | None:
    if value is None or isinstance(value, tuple):
        return value
    names = tuple(s.strip() for s in value.split(",") if s.strip())
    if not names:
        raise click.BadParameter(f"expected a comma-separated list of split names, found {value!r}")
    return names


@dataclass(frozen=True)
class Opt:
    """How a ``BuildConfig`` field appears on the command line. ``unset``: the option defaults to
    None and the field's default applies (shown in the help); ``parse`` turns the text into the
    field's value; ``shown`` is the default as text (what ``parse`` turns into the field's
    default, and what ``--help`` shows)."""

    help: str
    type: Any = None
    flag: str = ""
    required: bool = False
    unset: bool = False
    parse: Callable[[Any], Any] | None = None
    shown: str = ""

    def __post_init__(self) -> None:
        if self.shown and self.parse is None:
            raise ValueError("Opt: `shown` is the option's text default, so it needs `parse`")


def _field(default: Any, help: str, **opt: Any) -> Any:
    return field(default=default, metadata={"option": Opt(help, **opt)})


def _required(help: str, **opt: Any) -> Any:
    return field(metadata={"option": Opt(help, required=True, **opt)})


@dataclass(frozen=True)
class BuildConfig:
    """Everything a build needs. ``root``/``out`` are locations and ``resume``/``overwrite`` run
    modes: neither enters ``to_json()``/``hash()``. ``recipe_params`` are the recipe overrides."""

    dataset: str = _required("Dataset layout under --root.", type=click.Choice(sorted(formats.DATASETS)))
    root: str = _required("Folder holding the dataset's native files.",
                          type=click.Path(exists=True, file_okay=False))
    out: str = _required("Output folder: OUT/<split>/shard-NNNN.tar, manifest.json, rejects.jsonl.",
                         type=click.Path(file_okay=False))
    recipe: str = _required("Augmentation recipe (default: the dataset's: celeba, 300w, wflw or helen).",
                            unset=True)
    recipe_params: Mapping[str, Any] = field(default_factory=dict)
    protocol: str | None = _field(
        None, "Split protocol, for datasets that know several (300w: dlib, the default, or 300w: "
              "train / test_common / test_challenge by folder).", unset=True)
    splits: tuple[str, ...] | None = _field(
        None, "Comma-separated splits to build, e.g. train,test (default: all).", parse=_splits, unset=True)
    samples_per_shard: int = _field(
        1000, "Samples per shard; every shard but a split's last holds exactly this many.", type=int,
        unset=True)
    shard_bytes: int | None = _field(
        None, "Target shard size in bytes instead of --samples-per-shard: the sample count is set from "
              "the encoded size of real views of the dataset.", type=click.IntRange(min=1), unset=True)
    min_shards: int = _field(
        1, "At least this many shards per split, samples spread evenly (sizes differ by at most one): "
           "for readers that hand whole shards to ranks and workers. A split of fewer samples gets one "
           "shard per sample.", type=click.IntRange(min=1))
    image_format: str = _field("jpg", "Codec of the output images.", type=click.Choice(IMAGE_FORMATS))
    quality: int = _field(95, "JPEG/WebP quality.", type=click.IntRange(1, 100))
    heatmaps: bool = _field(False, "Also store Gaussian heatmaps as a tiled uint8 PNG member KEY.hm.png.",
                            flag="--heatmaps/--no-heatmaps")
    heatmap_size: tuple[int, int] = _field((64, 64), "Heatmap size, N or WxH.", type=str, parse=_size,
                                           shown="64x64")
    sigma: float = _field(2.5, "Heatmap σ in heatmap pixels.", type=float)
    seed: int = _field(0, "Build seed: same inputs + config + seed give byte-identical output.",
                       type=click.IntRange(min=0))
    on_error: str = _field("skip", "Bad record: skip it (listed in rejects.jsonl) or stop the build.",
                           type=click.Choice(ON_ERROR))
    max_reject_ratio: float = _field(
        0.01, "Exit non-zero (after writing everything) when rejected/input records exceed this.",
        type=click.FloatRange(0, 1))
    resume: bool = _field(False, "Continue a build in OUT: keep shards whose sha256 checks out, rebuild "
                                 "the rest.", flag="--resume")
    overwrite: bool = _field(False, "Delete a previous flmprep build in OUT first (refused if OUT holds "
                                    "other files).", flag="--overwrite")
    #: Records per probe task (stat + header read of each image); not an option.
    probe_chunk: int = 512

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
            **self._protocol_json(),
            "splits": None if self.splits is None else list(self.splits),
            "samples_per_shard": self.samples_per_shard,
            **({"shard_bytes": self.shard_bytes} if self.shard_bytes is not None else {}),
            "min_shards": self.min_shards,
            "image_format": self.image_format,
            "quality": self.quality,
            "heatmaps": self.heatmaps,
            "heatmap_size": list(self.heatmap_size) if self.heatmaps else None,
            "sigma": self.sigma if self.heatmaps else None,
            "seed": self.seed,
            "on_error": self.on_error,
            "max_reject_ratio": self.max_reject_ratio,
        }

    def _protocol_json(self) -> dict[str, str]:
        """``{"protocol": P}`` for a protocol other than the dataset's default, else nothing (so
        configs written before the option existed keep their hash)."""
        if self.protocol in (None, _default_protocol(self.dataset)):
            return {}
        return {"protocol": self.protocol}

    def hash(self) -> str:
        """sha256 hex of the canonical JSON of ``to_json()``."""
        return hashlib.sha256(canonical_json(self.to_json())).hexdigest()

    def make_recipe(self) -> augment.Recipe:
        """The recipe object this config builds with."""
        return augment.get_recipe(self.recipe, **dict(self.recipe_params))


def _default_protocol(dataset: str) -> str | None:
    """The protocol a build reads with when none is given (None: the dataset has one way to split)."""
    known = formats.protocols_of(dataset)
    return known[0] if known else None


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _validate(cfg: BuildConfig) -> None:
    checks: list[tuple[bool, str, str, object]] = [
        (cfg.dataset in formats.DATASETS, "--dataset", f"one of {', '.join(formats.DATASETS)}", cfg.dataset),
        (cfg.image_format in IMAGE_FORMATS, "--image-format", "jpg, png or webp", cfg.image_format),
        (1 <= cfg.quality <= 100, "--quality", "an integer in 1..100", cfg.quality),
        (cfg.samples_per_shard >= 1, "--samples-per-shard", "a positive integer", cfg.samples_per_shard),
        (cfg.shard_bytes is None or cfg.shard_bytes >= 1, "--shard-bytes", "a positive integer",
         cfg.shard_bytes),
        (cfg.min_shards >= 1, "--min-shards", "a positive integer", cfg.min_shards),
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
    formats.resolve_protocol(cfg.dataset, cfg.protocol)
    if cfg.recipe not in augment.RECIPES:
        raise ConfigError(f"--recipe: expected one of {', '.join(augment.RECIPES)}, found {cfg.recipe!r}")
    try:
        augment.check_scheme(cfg.make_recipe(), formats.scheme_of(cfg.dataset))
    except FlipUnsupportedError as exc:
        raise ConfigError(f"--recipe {cfg.recipe} on --dataset {cfg.dataset}: {exc}") from exc


# --- command-line options shared by `flmprep build` and `jobs/build_shards.py` ------------------


def _callback(parse: Callable[[Any], Any]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    return lambda ctx, param, value: parse(value)


def _field_option(f: Field[Any]) -> Callable[[F], F]:
    """The click option of one ``BuildConfig`` field, from its ``Opt`` metadata."""
    spec: Opt = f.metadata["option"]
    flag = spec.flag or "--" + f.name.replace("_", "-")
    kwargs: dict[str, Any] = {"help": spec.help}
    if spec.type is not None:
        kwargs["type"] = spec.type
    if spec.parse is not None:
        kwargs["callback"] = _callback(spec.parse)
    if spec.required and not spec.unset:
        kwargs["required"] = True
    elif spec.unset:
        kwargs["default"] = None
        if f.default is not None and not spec.required:
            kwargs["help"] = f"{spec.help[:-1]} (default {f.default})."
    else:
        kwargs["default"] = spec.shown or f.default  # `shown` is the text `parse` turns into the default
        kwargs["show_default"] = True
        if isinstance(f.default, bool) and "/" not in flag:
            kwargs["is_flag"] = True
            kwargs.pop("show_default")
    return click.option(flag, f.name, **kwargs)


def _build_options() -> list[Callable[[F], F]]:
    out: list[Callable[[F], F]] = []
    for f in fields(BuildConfig):
        if "option" in f.metadata:
            out.append(_field_option(f))
    return out


def recipe_options(func: F) -> F:
    """Decorate a click command with one option per recipe parameter (default: the preset)."""
    for option in reversed(_recipe_options()):
        func = option(func)
    return func


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
    for option in reversed(_build_options() + _recipe_options()):
        func = option(func)
    return func


def _recipe_param_names() -> set[str]:
    return {spec.name for spec in augment.recipe_option_specs()}


def from_options(**kwargs: Any) -> BuildConfig:
    """The BuildConfig for the values of ``build_options`` (unset options keep their defaults:
    the field's, or the dataset's recipe); raises ConfigError on unknown or inconsistent values."""
    opts = dict(kwargs)
    recipe_names = _recipe_param_names()
    recipe_params = {k: opts.pop(k) for k in list(opts) if k in recipe_names}
    known = {f.name for f in fields(BuildConfig)}
    unknown = sorted(set(opts) - known)
    if unknown:
        raise ConfigError(f"build options: expected only build and recipe options, "
                          f"found {', '.join(unknown)}")
    dataset = opts["dataset"]
    if dataset not in formats.DATASETS:
        raise ConfigError(f"--dataset: expected one of {', '.join(formats.DATASETS)}, found {dataset!r}")
    opts["recipe"] = opts.get("recipe") or formats.default_recipe(dataset)
    opts["root"] = str(Path(opts["root"]).resolve())
    opts["out"] = str(Path(opts["out"]).resolve())
    opts["recipe_params"] = {k: v for k, v in recipe_params.items() if v is not None}
    for name, parse in (("heatmap_size", _size), ("splits", _splits)):
        if opts.get(name) is not None:
            opts[name] = parse(opts[name])
    if opts.get("shard_bytes") is not None and opts.get("samples_per_shard") is not None:
        raise ConfigError("--samples-per-shard/--shard-bytes: expected at most one of them, found both")
    return BuildConfig(**{k: v for k, v in opts.items() if v is not None})
