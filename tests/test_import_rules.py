"""DESIGN.md's import rules: only jobs/ imports pyspark, only flmprep.train and flmprep.predict import torch."""

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


def test_only_train_and_predict_import_torch() -> None:
    allowed = (PACKAGE / "train", PACKAGE / "predict")
    offenders = [
        str(p.relative_to(ROOT))
        for p in _modules()
        if "torch" in _imports(p) and not any(a in p.parents for a in allowed)
    ]
    assert offenders == []


def _module_level_imports(path: Path) -> set[str]:
    """Full module names imported at the top level of a file (not inside functions)."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_predict_needs_torch_only_for_checkpoints_and_never_the_training_loop() -> None:
    predict = sorted((PACKAGE / "predict").glob("*.py"))
    with_torch = {p.name for p in predict if "torch" in {n.split(".")[0] for n in _module_level_imports(p)}}
    assert with_torch == {"torch_model.py", "export.py"}
    loop = {"flmprep.train.loop", "flmprep.train.data", "flmprep.train.balance", "flmprep.train.runtime",
            "flmprep.train.predict", "flmprep.train.shardio"}
    assert [p.name for p in predict if _module_level_imports(p) & loop] == []
