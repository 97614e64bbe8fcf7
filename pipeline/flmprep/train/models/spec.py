"""``ModelSpec``: everything needed to rebuild a model (saved in every checkpoint). No torch."""

from __future__ import annotations

from dataclasses import dataclass

from flmprep.train.models.registry import model_info


@dataclass(frozen=True)
class ModelSpec:
    """A model's name, points and input size, plus the settings some models need:
    ``sigma`` (heatmap σ in heatmap pixels: ``heatmap``, ``rccnn``), ``passes`` (``rccnn``'s
    recurrent passes) and ``components`` (``shapenet``'s PCA components; their values are
    buffers in the weights). Older checkpoints lack the last three: their defaults fit them."""

    name: str
    num_points: int
    width: int
    height: int
    sigma: float = 2.5
    channels: int = 3
    passes: int = 0
    components: int = 0

    @classmethod
    def of(
        cls,
        name: str,
        num_points: int,
        width: int,
        height: int,
        *,
        sigma: float = 2.5,
        passes: int = 0,
        components: int = 0,
    ) -> ModelSpec:
        """The spec of model ``name`` with the input channels its registry entry gives."""
        channels = model_info(name).channels
        return cls(name, num_points, width, height, sigma, channels, passes, components)

    @property
    def kind(self) -> str:
        """``regression``, ``heatmap`` or ``cascade`` (``registry.KINDS``)."""
        return model_info(self.name).kind
