"""The trainer's errors: each a one-line message naming the run folder, checkpoint or sample."""

from __future__ import annotations

from flmprep.errors import FlmprepError


class TrainError(FlmprepError):
    """A training or evaluation run that cannot go on (its output folder, a diverged loss, too
    many corrupt samples)."""


class CheckpointError(TrainError, ValueError):
    """A file that is not a checkpoint flmprep wrote, or one that does not fit the model or data."""
