"""The versions of the libraries that shape a build's bytes: decoding and resampling (OpenCV,
numpy), JPEG coding (simplejpeg and the libjpeg-turbo linked into it), PNG/WebP probing
(Pillow), JSON floats (Python) and flmprep itself. A build records them in its manifest and
build state; ``--resume`` refuses to continue with different ones, because shards written by
other versions need not be byte-identical to those already there.
"""

from __future__ import annotations

import platform
import re
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import PIL
import simplejpeg

from flmprep import __version__

UNKNOWN = "unknown"
_TURBO = re.compile(rb"libjpeg-turbo version ([0-9][0-9A-Za-z.\-]*)")


def _libjpeg_turbo() -> str:
    """The libjpeg-turbo version compiled into simplejpeg (its version string in the binary),
    or ``UNKNOWN`` when it cannot be read."""
    folder = Path(simplejpeg.__file__).parent
    for binary in sorted(folder.glob("_jpeg*.so")) + sorted(folder.glob("_jpeg*.pyd")):
        try:
            found = _TURBO.search(binary.read_bytes())
        except OSError:
            continue
        if found:
            return found.group(1).decode()
    return UNKNOWN


@cache
def library_versions() -> dict[str, str]:
    """``{"flmprep", "python", "numpy", "opencv", "simplejpeg", "libjpeg-turbo", "pillow"}`` of
    this process."""
    return {
        "flmprep": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "simplejpeg": simplejpeg.__version__,
        "libjpeg-turbo": _libjpeg_turbo(),
        "pillow": PIL.__version__,
    }


def differences(recorded: dict[str, str], running: dict[str, str]) -> list[str]:
    """``name: was X, now Y`` for every library whose version differs (or is missing)."""
    names = sorted(set(recorded) | set(running))
    return [f"{n} was {recorded.get(n, 'not recorded')}, now {running.get(n, 'absent')}"
            for n in names if recorded.get(n) != running.get(n)]
