"""The error a recipe raises for a record it cannot turn into a view."""

from __future__ import annotations

from flmprep.errors import FlmprepError

#: Stable reject codes ``AugmentError.reason`` takes (see docs/architecture.md).
REASONS = ("image_too_small", "landmarks_outside_image", "nonfinite_landmarks")


class AugmentError(FlmprepError):
    """A record the recipe cannot crop; ``reason`` is one of ``REASONS`` (the reject code)."""

    def __init__(self, reason: str, message: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"AugmentError reason: expected one of {REASONS}, found {reason!r}")
        self.reason = reason
        self.message = message
        super().__init__(message)
