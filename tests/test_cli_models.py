"""``flmprep models``: the table, ``--json`` and ``--points``; the command line stays torch-free until run."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from flmprep.cli import main as cli


def test_models_json_lists_every_model_with_exact_counts() -> None:
    result = CliRunner().invoke(cli, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert set(rows) == {"vanilla96", "resnet18", "mobilenetv3", "shapenet", "rccnn", "xception", "heatmap"}
    assert rows["vanilla96"]["input"] == [3, 96, 96] and rows["vanilla96"]["points"] == 5
    assert rows["vanilla96"]["parameters"] == 6_617_018
    assert rows["xception"]["input"] == [1, 128, 128] and rows["xception"]["parameters"] == 2_630_888
    assert rows["mobilenetv3"]["parameters"] == 2_971_952 + 960 * 8 * 8 * 196 + 196
    assert rows["rccnn"]["points"] == 194 and rows["rccnn"]["loss"] == "cascade"
    assert rows["shapenet"]["note"].startswith("with 24 PCA components")
    assert all(row["seed"] for name, row in rows.items() if name != "heatmap")


def test_models_table_for_other_points() -> None:
    result = CliRunner().invoke(cli, ["models", "--points", "68"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["model", "input", "points", "parameters", "seed", "loss"]
    vanilla = lines[1].split()
    # 68 points: the last linear layer is 1024 → 136 instead of 1024 → 10.
    assert vanilla[:4] == ["vanilla96", "3×96×96", "68", f"{6_617_018 + 1025 * 126:,}"]
    assert lines[-1].startswith("* shapenet: with 24 PCA components")


def test_command_line_modules_do_not_import_torch() -> None:
    code = (
        "import sys, flmprep.cli.models_cmd, flmprep.cli.train_cmd, flmprep.train.config, "
        "flmprep.train.models.registry, flmprep.train.presets; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"
