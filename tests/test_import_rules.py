"""DESIGN.md's import rules: only jobs/ imports pyspark, only flmprep.train imports torch."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pipeline" / "flmprep"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_package_has_modules() -> None:
    assert len(_modules()) > 5


def test_only_jobs_import_pyspark() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in _modules() if "pyspark" in _imports(p)]
    assert offenders == []


def test_only_train_imports_torch() -> None:
    train = PACKAGE / "train"
    offenders = [
        str(p.relative_to(ROOT))
        for p in _modules()
        if "torch" in _imports(p) and train not in p.parents
    ]
    assert offenders == []
