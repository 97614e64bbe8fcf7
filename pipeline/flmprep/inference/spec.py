"""The input a trained model expects (``InputSpec``) and the codec of its training samples
(``Codec``): written into every checkpoint by the trainer, read back by ``flmprep.predict``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flmprep.inference.errors import InferenceError

LOSSY = ("jpg", "webp")


@dataclass(frozen=True)
class Codec:
    """The image codec of the training samples (the manifest's ``image_format`` and ``quality``)."""

    format: str
    quality: int

    @property
    def lossy(self) -> bool:
        return self.format in LOSSY and not (self.format == "webp" and self.quality > 100)

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "quality": self.quality}


@dataclass(frozen=True)
class InputSpec:
    """The model's input: float32 NCHW of ``channels`` × ``height`` × ``width`` holding
    ``(pixel - mean) / std`` of the uint8 crop (grey crops repeated to 3 channels, RGB crops
    reduced to luma for 1 channel). ``codec``: the training samples' codec, which prediction
    passes its crops through when it is lossy, so the model sees what it was trained on."""

    channels: int
    height: int
    width: int
    mean: float
    std: float
    codec: Codec | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "channels": self.channels,
            "height": self.height,
            "width": self.width,
            "layout": "NCHW",
            "dtype": "float32",
            "normalisation": {"mean": self.mean, "std": self.std},
            "codec": None if self.codec is None else self.codec.to_json(),
        }

    @classmethod
    def from_json(cls, doc: Any, where: str) -> InputSpec:
        try:
            norm, codec = doc["normalisation"], doc.get("codec")
            spec = cls(
                int(doc["channels"]),
                int(doc["height"]),
                int(doc["width"]),
                float(norm["mean"]),
                float(norm["std"]),
                None if codec is None else Codec(str(codec["format"]), int(codec["quality"])),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InferenceError(
                f"{where}: expected channels, height, width and normalisation {{mean, std}}, "
                f"found {doc!r:.120}"
            ) from exc
        if spec.channels not in (1, 3) or spec.std == 0:
            raise InferenceError(f"{where}: expected 1 or 3 channels and a non-zero std, found {doc!r:.120}")
        return spec
