"""Shared pytest fixtures. Area-specific helpers live in tests/helpers/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Hugging Face datasets reads local folders in the tests: never ask the hub (read at its import).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data: small real fixtures, each with a line of provenance."""
    return DATA


from tests.helpers.predict_data import trained_celeba  # noqa: E402,F401  (a session fixture)
