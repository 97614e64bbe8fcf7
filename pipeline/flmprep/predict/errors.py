"""The error a user can cause when predicting: a model file without what prediction needs, a box
source the model was not calibrated for, a bad boxes file. The message is one line naming the place."""

from __future__ import annotations

from flmprep.inference.errors import InferenceError


class PredictError(InferenceError):
    """A problem with a model file, a boxes file or an option; ``str()`` is one line."""
