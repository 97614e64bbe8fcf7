"""docs/interop.md: every code block marked ``<!-- docs-run -->`` runs, in page order, in one
scratch folder (its first block builds ``out``); the one unmarked snippet is DALI's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "interop.md"
BLOCK = re.compile(r"^(<!-- docs-run -->\n)?```(bash|python)\n(.*?)^```$", re.S | re.M)


def blocks() -> list[tuple[bool, str, str]]:
    """(marked to run, language, code) of every fenced bash/python block of the page."""
    return [(bool(m.group(1)), m.group(2), m.group(3)) for m in BLOCK.finditer(PAGE.read_text("utf-8"))]


def test_the_page_has_a_snippet_per_tool_and_only_dali_is_not_run() -> None:
    found = blocks()
    text = "\n".join(code for _, _, code in found)
    for tool in ("LandmarkDataset", "webdataset_pipeline", "LandmarkDataModule", "datasets.load_dataset",
                 "ray.data.read_webdataset", "fn.readers.webdataset"):
        assert tool in text, tool
    assert [code for run, _, code in found if not run] == [c for _, _, c in found if "nvidia.dali" in c]
    assert "## COCO / mmpose, LitData and MDS exports" in PAGE.read_text("utf-8")


@pytest.mark.slow
def test_every_marked_snippet_runs(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_CACHE": str(tmp_path / "hf-cache"), "OMP_NUM_THREADS": "1"}
    for n, (run, language, code) in enumerate(blocks()):
        if not run:
            continue
        command = (["bash", "-euo", "pipefail", "-c", code] if language == "bash"
                   else [sys.executable, "-c", code])
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
                              check=False)
        output = done.stdout[-2000:] + done.stderr[-4000:]
        assert done.returncode == 0, f"block {n} ({language}):\n{code}\n{output}"
