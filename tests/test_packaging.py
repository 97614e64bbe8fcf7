"""`pip install .` (not editable) gives a working package with its data files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIP_WHEEL = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [*PIP_WHEEL, "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (whl,) = out.glob("flmprep-*.whl")
    return whl


def test_wheel_carries_schemes_and_schemas(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for scheme in ("celeba5", "ibug68", "wflw98", "helen194"):
        assert f"flmprep/schemas/schemes/{scheme}.json" in names
    assert "flmprep/schemas/sample.schema.json" in names
    assert "flmprep/schemas/manifest.schema.json" in names
    assert any(n.endswith("entry_points.txt") for n in names)


def test_installed_copy_reads_its_data(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    code = (
        "import json, flmprep, flmprep.schemes as s; from importlib import resources;"
        "print(json.dumps({'file': flmprep.__file__, 'k': s.get_scheme('wflw98').num_points,"
        "'schema': json.loads(resources.files('flmprep.schemas').joinpath('sample.schema.json')"
        ".read_text())['$schema']}))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env)
    info = json.loads(out.stdout)
    assert Path(info["file"]).is_relative_to(target)
    assert info["k"] == 98
    assert "2020-12" in info["schema"]
