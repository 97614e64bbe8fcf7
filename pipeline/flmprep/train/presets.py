"""Seed presets: each seed system's data build and training set-up, with where every value comes from.

``flmprep train --preset NAME`` (and ``torchrun -m flmprep.train --preset NAME``) takes the
preset's values for every option not given explicitly on the command line; each preset also
names the ``flmprep build`` command that makes the data its seed describes. Values a seed does
not state are flmprep's choices, and their source says so. No torch here.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

SEED_SILENT = "choice: seed silent"


@dataclass(frozen=True)
class Setting:
    """One training option's value and where it comes from."""

    value: Any
    source: str


@dataclass(frozen=True)
class BuildCommand:
    """``flmprep build --dataset D --root ROOT --out OUT --recipe R [options]``."""

    dataset: str
    recipe: str
    options: tuple[str, ...] = ()

    def argv(self, root: str = "ROOT", out: str = "OUT") -> list[str]:
        """The arguments after ``flmprep``."""
        return ["build", "--dataset", self.dataset, "--root", root, "--out", out, "--recipe", self.recipe,
                *self.options]

    def text(self, root: str = "ROOT", out: str = "OUT") -> str:
        return shlex.join(["flmprep", *self.argv(root, out)])


@dataclass(frozen=True)
class Preset:
    """A seed system: its data (``build``), its training options (``settings``, keyed by
    ``TrainConfig`` field) and notes. ``milestone_epochs`` > 0: the milestones are stated for
    that many epochs and scale with ``--epochs``."""

    name: str
    seed: str
    build: BuildCommand
    data: str
    settings: Mapping[str, Setting]
    milestone_epochs: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def resolve(self, options: Mapping[str, Any], explicit: Collection[str]) -> dict[str, Any]:
        """``options`` (click keyword arguments) with the preset's value for every option not in
        ``explicit``; milestones scaled to the resolved epochs unless given explicitly."""
        resolved = dict(options)
        for name, setting in self.settings.items():
            if name not in explicit:
                resolved[name] = setting.value
        if self.milestone_epochs and "milestones" not in explicit:
            resolved["milestones"] = scale_milestones(
                self.settings["milestones"].value, self.milestone_epochs, int(resolved["epochs"])
            )
        return resolved

    def train_text(self, data: str = "OUT", output: str = "") -> str:
        out = ["-o", output] if output else []
        return shlex.join(["flmprep", "train", "--preset", self.name, "--data", data, *out])


def scale_milestones(milestones: tuple[int, ...], stated_epochs: int, epochs: int) -> tuple[int, ...]:
    """Milestones stated for ``stated_epochs`` epochs, at the same fractions of ``epochs``
    (rounded half up, at least 1): 1000, 1500 of 2000 → 4, 6 of 8."""
    return tuple(max(1, math.floor(m * epochs / stated_epochs + 0.5)) for m in milestones)


def _s(value: Any, source: str) -> Setting:
    return Setting(value, source)


_XLANDMARK = Preset(
    name="xlandmark",
    seed="000 xlandmark",
    build=BuildCommand("celeba", "celeba", ("--crops", "20", "--out-size", "96")),
    data="CelebA, 5 points, 20 random crops per training image at 96×96 (seed 000)",
    settings={
        "model": _s("vanilla96", "seed 000: VanillaCNN modified to 96×96"),
        "loss": _s("mse", "seed 000: MSECriterion"),
        "optimizer": _s("adam", SEED_SILENT),
        "lr": _s(1e-3, SEED_SILENT),
        "batch_size": _s(64, SEED_SILENT),
        "epochs": _s(30, SEED_SILENT),
        "milestones": _s((), SEED_SILENT),
    },
    notes=(
        "seed 000 picks the checkpoint by test loss: best.pt is the lowest validation loss "
        "(CelebA's val split; --val-split test for the seed's literal choice)",
        "iterative refinement (re-crop 2× the landmark box, ~3 passes) is an inference step, not training",
    ),
)

_RESNET18_WFLW = Preset(
    name="resnet18-wflw",
    seed="001 ResNet-18 on WFLW",
    build=BuildCommand("wflw", "wflw", ("--out-size", "256")),
    data="WFLW, 98 points, 256×256 (seed 001)",
    settings={
        "model": _s("resnet18", "seed 001: ResNet-18, average pool removed, 2K outputs"),
        "loss": _s("log1p_l2", "seed 001 Baseline row: log(1 + L2loss)"),
        "optimizer": _s("adam", "seed 001 Baseline row: Adam"),
        "lr": _s(2e-6, "seed 001 Baseline row: LR 2e-6"),
        "weight_decay": _s(0.0, "seed 001 Baseline row: weight decay 0"),
        "batch_size": _s(4, "seed 001 Baseline row: batch size 4"),
        "epochs": _s(512, "seed 001 Baseline row: 512 epochs"),
        "milestones": _s((), "seed 001 Baseline row: step value None"),
    },
)

_MOBILENETV3_WFLW = Preset(
    name="mobilenetv3-wflw",
    seed="001 MobileNet-V3 on WFLW",
    build=BuildCommand("wflw", "wflw", ("--out-size", "256")),
    data="WFLW, 98 points, 256×256 (seed 001)",
    settings={
        "model": _s("mobilenetv3", "seed 001: MobileNet-V3 (Large), average pool removed, 2K outputs"),
        "loss": _s("log1p_l2", "seed 001 MobileNet-V3 Experiment 1: log(1 + L2loss)"),
        "optimizer": _s("sgd", "seed 001 MobileNet-V3 Experiment 1: SGD"),
        "lr": _s(2e-6, "seed 001 MobileNet-V3 Experiment 1: LR 2e-6"),
        "weight_decay": _s(0.0, "seed 001 MobileNet-V3 Experiment 1: weight decay 0"),
        "momentum": _s(0.9, SEED_SILENT),
        "batch_size": _s(4, "seed 001 MobileNet-V3 Experiment 1: batch size 4"),
        "epochs": _s(2000, "seed 001 MobileNet-V3 Experiment 1: 2000 epochs"),
        "milestones": _s((1000, 1500), "seed 001 MobileNet-V3 Experiment 1: steps 1000, 1500 of 2000, "
                                       "scaled to --epochs"),
        "gamma": _s(0.1, SEED_SILENT),
    },
    milestone_epochs=2000,
)

_SHAPENET_300W = Preset(
    name="shapenet-300w",
    seed="002 shapenet",
    build=BuildCommand("300w", "300w", ("--out-size", "224", "--grey", "--box-scale", "1.0")),
    data="dlib's 300W XML (labels_ibug_300W_train/test.xml), 68 points, cropped to the face box, "
         "greyscale, 224×224 (seed 002)",
    settings={
        "model": _s("shapenet", "seed 002: network predicting PCA shape-model parameters"),
        "loss": _s("mse", SEED_SILENT),
        "optimizer": _s("adam", SEED_SILENT),
        "lr": _s(1e-3, SEED_SILENT),
        "batch_size": _s(32, SEED_SILENT),
        "epochs": _s(50, SEED_SILENT),
        "milestones": _s((), SEED_SILENT),
        "pca_variance": _s(0.99, "choice: seed 002 fits PCA() without a limit; 99 % of the variance"),
    },
    notes=("PCA on the training views' landmarks in output pixels, without rotation normalisation "
           "(seed 002: normalising kept the model from fitting the eyes)",),
)

_RCCNN_HELEN = Preset(
    name="rccnn-helen",
    seed="003 RCCNN",
    build=BuildCommand(
        "helen", "helen",
        ("--out-size", "256", "--max-angle", "15", "--forehead", "1.4", "--max-area", "2.0",
         "--heatmaps", "--heatmap-size", "64", "--sigma", "2.5"),
    ),
    data="HELEN, 194 points: rotate ±15°, keypoint box ×1.4 towards the forehead, crop area up to "
         "2.0×, 256×256, Gaussian heatmap targets σ = 2.5 (seed 003)",
    settings={
        "model": _s("rccnn", "seed 003: recurrent cascade of heatmap and regression modules"),
        "loss": _s("cascade", "seed 003: heatmap cross-entropy + regression MSE after every pass"),
        "sigma": _s(2.5, "seed 003: Gaussian σ = 2.5 pixels (here at the 64×64 heatmap)"),
        "passes": _s(3, SEED_SILENT),
        "optimizer": _s("adam", SEED_SILENT),
        "lr": _s(1e-3, SEED_SILENT),
        "batch_size": _s(16, SEED_SILENT),
        "epochs": _s(50, SEED_SILENT),
        "milestones": _s((), SEED_SILENT),
    },
    notes=("the trainer renders the same σ = 2.5 Gaussians on the device; the stored KEY.hm.png "
           "targets are for other trainers",),
)

_XCEPTION = Preset(
    name="xception",
    seed="004 Xception",
    build=BuildCommand(
        "300w", "300w", ("--out-size", "128", "--grey", "--photometric", "--max-angle", "15")
    ),
    data="68-point 300W (136 outputs; dlib's XML files, as seed 002), face-box crop, greyscale "
         "128×128, photometric jitter (brightness, contrast, gamma, saturation, hue) and random "
         "rotation ±15° on training views (seed 004; the ranges are flmprep's defaults)",
    settings={
        "model": _s("xception", "seed 004: Xception-style net, 2,630,888 parameters"),
        "loss": _s("mse", "seed 004: MSELoss"),
        "optimizer": _s("adam", "seed 004: Adam"),
        "lr": _s(8e-4, "seed 004: learning rate 0.0008"),
        "batch_size": _s(32, SEED_SILENT),
        "epochs": _s(30, "seed 004: 30 epochs"),
        "milestones": _s((), "seed 004: no schedule"),
    },
    notes=("build with --protocol 300w (the standard split) to have flmprep evaluate --split test "
           "report common, challenge and full",),
)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (_XLANDMARK, _RESNET18_WFLW, _MOBILENETV3_WFLW, _SHAPENET_300W, _RCCNN_HELEN, _XCEPTION)
}
PRESET_NAMES = tuple(PRESETS)


def get_preset(name: str) -> Preset:
    """The preset ``name``; raises KeyError naming the presets."""
    if name not in PRESETS:
        raise KeyError(f"expected a preset among {', '.join(PRESET_NAMES)}, found {name!r}")
    return PRESETS[name]


def _value_text(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value) or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def describe(preset: Preset) -> list[str]:
    """The lines ``--list-presets`` prints for one preset."""
    lines = [f"{preset.name}  (seed {preset.seed})", f"  data:   {preset.data}",
             f"  build:  {preset.build.text()}", f"  train:  {preset.train_text()}"]
    width = max(len(name) for name in preset.settings) + 2
    value_width = max(len(_value_text(s.value)) for s in preset.settings.values())
    for name, setting in preset.settings.items():
        option = "--" + name.replace("_", "-")
        lines.append(f"    {option:<{width}}  {_value_text(setting.value):<{value_width}}  {setting.source}")
    lines += [f"  note:   {note}" for note in preset.notes]
    return lines
