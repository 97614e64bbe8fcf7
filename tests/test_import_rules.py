"""DESIGN.md's import rules: only jobs/ imports pyspark, only flmprep.train, flmprep.data and
flmprep.predict import torch; the floors of the package import nothing above them; data flows one
way (the shard format never knows the builder, the trainer never knows how shards are built)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pipeline" / "flmprep"
TORCH_USERS = ("train", "data", "predict")
#: Modules every part may use: they import no other part of flmprep but each other (errors first).
BASE = {"errors", "records", "atomic", "jsonio"}
#: part -> the other parts it may import at run time (imports under `if TYPE_CHECKING:` are types only).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "records": set(),
    "atomic": {"errors"},
    "jsonio": {"atomic", "errors"},
    "geometry": set(),
    "schemes": BASE,
    "formats": BASE,
    "imageio": BASE,
    "targets": BASE | {"imageio"},
    "shards": BASE | {"imageio", "targets", "schemes"},
    "data": BASE | {"shards", "schemes", "imageio", "targets"},
    "inference": BASE | {"imageio", "shards"},
    "train": BASE | {"shards", "schemes", "imageio", "targets", "data", "inference"},
    "export": BASE | {"shards", "schemes"},
}
#: A part's ``__main__`` (``torchrun -m flmprep.train``) is a command line: it may use the CLI's
#: error handling, which nothing else below the CLI may.
ENTRY_POINT_EXTRA = {"flmprep.cli"}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node but those under ``if TYPE_CHECKING:``."""
    out: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out


def _imports(path: Path) -> set[str]:
    """Top-level package names, and ``flmprep.<part>`` for first-party imports."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    names: set[str] = set()
    for node in _nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.add(alias.name.split(".")[0])
                if alias.name.startswith("flmprep."):
                    names.add("flmprep." + alias.name.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
            parts = node.module.split(".")
            if parts[0] == "flmprep" and len(parts) > 1:
                names.add("flmprep." + parts[1])
            elif node.module == "flmprep":
                names.update(f"flmprep.{alias.name}" for alias in node.names if alias.name != "__version__")
    return names


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _part(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def test_package_has_modules() -> None:
    assert len(_modules()) > 5


def test_only_jobs_import_pyspark() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in _modules() if "pyspark" in _imports(p)]
    assert offenders == []


def test_only_train_data_and_predict_import_torch() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in _modules()
                 if "torch" in _imports(p) and _part(p) not in TORCH_USERS]
    assert offenders == []


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_floors_import_nothing_above_them(part: str) -> None:
    allowed = {f"flmprep.{name}" for name in ALLOWED[part] | {part}}
    found = {}
    for path in _modules():
        if _part(path) == part:
            extra = ENTRY_POINT_EXTRA if path.name == "__main__.py" else set()
            above = {n for n in _imports(path) if n.startswith("flmprep.")} - allowed - extra
            if above:
                found[str(path.relative_to(ROOT))] = sorted(above)
    assert found == {}


def test_shards_never_import_the_builder() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in _modules()
                 if _part(p) == "shards" and {"flmprep.builder", "flmprep.augment"} & _imports(p)]
    assert offenders == []


def test_the_rules_see_a_violation(tmp_path: Path) -> None:
    """The checker itself: a first-party import is found, a TYPE_CHECKING one is not."""
    module = tmp_path / "m.py"
    module.write_text("from typing import TYPE_CHECKING\nfrom flmprep.builder import plan\n"
                      "import flmprep.train.models\n"
                      "if TYPE_CHECKING:\n    from flmprep.augment import View\n")
    assert {"flmprep.builder", "flmprep.train"} <= _imports(module)
    assert "flmprep.augment" not in _imports(module)


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
    loop = {"flmprep.train.loop", "flmprep.train.runtime", "flmprep.train.predict", "flmprep.data"}
    imported = {p.name: {n for n in _module_level_imports(p) if n in loop or n.startswith("flmprep.data.")}
                for p in predict}
    assert {name: found for name, found in imported.items() if found} == {}


def test_the_data_api_imports_without_torch() -> None:
    """``import flmprep.data`` (manifest, plans, the webdataset pipeline) works where torch is
    absent; the torch parts say so only when asked for."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None\n"
            "import flmprep.data as d\n"
            "assert callable(d.webdataset_pipeline) and callable(d.open_dataset)\n"
            "try:\n    d.LandmarkDataset\nexcept ImportError:\n    print('lazy')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "lazy"
