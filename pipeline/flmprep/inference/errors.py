"""The error a user can cause with inference metadata: a relation or input spec that does not
parse, a box source the model was not calibrated for, a Haar cascade that does not load."""

from __future__ import annotations

from flmprep.errors import FlmprepError


class InferenceError(FlmprepError):
    """``str()`` is one line naming the place."""
