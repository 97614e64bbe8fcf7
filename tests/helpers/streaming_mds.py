"""mosaicml-streaming's real MDS reader classes, loaded without the package's two ``__init__``
modules: ``streaming/__init__.py`` imports its bundled vision and text datasets (torchvision,
transformers) and ``streaming/base/__init__.py`` its data loader (transformers). torchvision's
PyPI wheel cannot load against this machine's CPU torch, so those two files are skipped; every
class used here is the package's own code. ``streaming.StreamingDataset`` is bound to the real
class so that the documented ``from streaming import StreamingDataset`` runs unchanged.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from typing import Any


def load_streaming() -> Any:
    """The real ``streaming.base.dataset.StreamingDataset`` class (importing it once)."""
    loaded = sys.modules.get("streaming.base.dataset")
    if loaded is None:
        spec = importlib.util.find_spec("streaming")
        assert spec is not None and spec.submodule_search_locations, "mosaicml-streaming is not installed"
        root = Path(next(iter(spec.submodule_search_locations)))
        for name, folder in (("streaming", root), ("streaming.base", root / "base")):
            package = types.ModuleType(name)
            package.__path__ = [str(folder)]
            sys.modules[name] = package
        loaded = importlib.import_module("streaming.base.dataset")
        sys.modules["streaming"].StreamingDataset = loaded.StreamingDataset  # type: ignore[attr-defined]
    return loaded.StreamingDataset
