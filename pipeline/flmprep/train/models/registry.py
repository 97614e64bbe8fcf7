"""Every landmark model: its input, the points it is built for, the seed it follows, its loss.

Imports no torch (the command line reads this table to parse options and list models);
``builder`` names the function, ``"module:function"``, that builds the model from a
``ModelSpec`` (``flmprep.train.models.build_model`` imports it on first use).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Output kinds: ``regression`` gives [B, 2K] points in [-1, 1]; ``heatmap`` gives K maps at
#: 1/4 resolution; ``cascade`` gives every recurrent pass's maps and points (``rccnn``).
KINDS = ("regression", "heatmap", "cascade")
#: The losses each kind trains with (``flmprep.train.losses``).
LOSSES_BY_KIND: dict[str, tuple[str, ...]] = {
    "regression": ("mse", "log1p_l2", "wing"),
    "heatmap": ("heatmap",),
    "cascade": ("cascade",),
}
LOSS_NAMES = tuple(loss for losses in LOSSES_BY_KIND.values() for loss in losses)
#: ``rccnn``'s recurrent passes unless ``--passes`` says otherwise.
DEFAULT_PASSES = 3
#: ``shapenet``: the share of the landmark variance its PCA components explain (``--pca-variance``).
DEFAULT_PCA_VARIANCE = 0.99
#: ``shapenet``'s component count when listing models without data (training fits it).
LISTED_COMPONENTS = 24


@dataclass(frozen=True)
class ModelInfo:
    """One model of the registry. ``points`` is the K it is built for by default (the data's
    K replaces it when training); ``seed`` names the seed document it reproduces ("" for none)."""

    name: str
    channels: int
    height: int
    width: int
    points: int
    seed: str
    loss: str
    kind: str
    builder: str
    summary: str

    @property
    def input(self) -> tuple[int, int, int]:
        """(channels, height, width)."""
        return (self.channels, self.height, self.width)


_MODELS = (
    ModelInfo(
        "vanilla96", 3, 96, 96, 5, "000 xlandmark", "mse", "regression",
        "flmprep.train.models.vanilla:build",
        "VanillaCNN at 96×96: 4 conv–tanh–abs stages, linear 6400→1024→2K, convolutions without bias",
    ),
    ModelInfo(
        "resnet18", 3, 256, 256, 98, "001 ResNet-18 on WFLW", "log1p_l2", "regression",
        "flmprep.train.models.resnet:build",
        "ResNet-18 without the average pool: flatten 512·8·8 → linear 2K",
    ),
    ModelInfo(
        "mobilenetv3", 3, 256, 256, 98, "001 MobileNet-V3 on WFLW", "log1p_l2", "regression",
        "flmprep.train.models.mobilenetv3:build",
        "MobileNetV3-Large trunk (inverted residuals, squeeze-excite, hard-swish), no average pool: "
        "flatten 960·8·8 → linear 2K",
    ),
    ModelInfo(
        "shapenet", 1, 224, 224, 68, "002 shapenet", "mse", "regression",
        "flmprep.train.models.shapenet:build",
        "small CNN → PCA scores + similarity; a fixed shape layer gives T(mean + Σ score·component)",
    ),
    ModelInfo(
        "rccnn", 3, 256, 256, 194, "003 RCCNN", "cascade", "cascade",
        "flmprep.train.models.rccnn:build",
        "recurrent cascade: shared heatmap and regression modules run R passes, loss after each",
    ),
    ModelInfo(
        "xception", 1, 128, 128, 68, "004 Xception", "mse", "regression",
        "flmprep.train.models.xception:build",
        "Xception-style: entry block, 6 middle blocks, exit block, depthwise-separable convs, "
        "adaptive average pool, dropout, linear 1024→2K",
    ),
    ModelInfo(
        "heatmap", 3, 256, 256, 98, "", "heatmap", "heatmap",
        "flmprep.train.models.heatmap:build",
        "encoder to 1/16, up to 1/4 with a skip, K maps decoded by a local soft-argmax",
    ),
)
MODELS: dict[str, ModelInfo] = {m.name: m for m in _MODELS}
MODEL_NAMES = tuple(MODELS)


def model_info(name: str) -> ModelInfo:
    """The registry entry of ``name``; raises ValueError naming the known models."""
    if name not in MODELS:
        raise ValueError(f"expected a model among {', '.join(MODEL_NAMES)}, found {name!r}")
    return MODELS[name]


def check_loss(model: str, loss: str) -> str:
    """The loss to use (the model's default when ``loss`` is empty); raises ValueError when the
    loss is unknown or does not fit the model's output kind."""
    info = model_info(model)
    loss = loss or info.loss
    if loss not in LOSS_NAMES:
        raise ValueError(f"unknown loss {loss!r}; expected one of {', '.join(LOSS_NAMES)}")
    fitting = LOSSES_BY_KIND[info.kind]
    if loss not in fitting:
        raise ValueError(
            f"loss {loss!r} does not fit model {model!r} ({info.kind} output): "
            f"expected one of {', '.join(fitting)}"
        )
    return loss
