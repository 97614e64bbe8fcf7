"""Hostile JSON in a built dataset (deep nesting, wrong types) gives `verify` and `inspect` one
line naming the file, never a RecursionError or AttributeError traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from flmprep.cli.inspect_cmd import inspect_cmd
from flmprep.cli.verify_cmd import verify
from flmprep.jsonio import MAX_DEPTH, finite_json, parse_json
from tests.helpers.golden import write_shard
from tests.helpers.shards import sample_doc, sample_members, write_dataset

DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def out(tmp_path: Path) -> Path:
    write_dataset(tmp_path / "out", {"train": [2]})
    return tmp_path / "out"


def _invoke(command: object, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(command, list(args))  # type: ignore[arg-type]
    assert not isinstance(result.exception, RecursionError | AttributeError | TypeError), result.exception
    return result.exit_code, result.output


def test_parse_json_bounds_depth_and_refuses_nan() -> None:
    with pytest.raises(ValueError, match=f"nested at most {MAX_DEPTH} levels deep"):
        parse_json(DEEP)
    with pytest.raises(ValueError, match="nested at most"):
        parse_json(b'{"a": 1e999, "b": ' + DEEP + b"}")
    with pytest.raises(ValueError, match="line 1 column 7: expected a finite JSON number, found NaN"):
        parse_json(b'{"a": NaN}')
    assert parse_json(b"[" * 1000 + b"]" * 1000) is not None


def test_a_deep_manifest_is_one_line(out: Path, caplog: pytest.LogCaptureFixture) -> None:
    (out / "manifest.json").write_bytes(DEEP)
    code, text = _invoke(verify, str(out))
    assert code == 2 and "manifest.json: expected a manifest in valid JSON, found: line 1" in text
    code, text = _invoke(inspect_cmd, str(out), "--json")
    assert code == 0 and json.loads(text)["samples"] == 2  # reads the *.tar files it finds
    assert "nested at most 1024 levels deep, found deeper nesting; listing *.tar files" in caplog.text


def test_a_deep_rejects_line_is_one_problem(out: Path) -> None:
    (out / "rejects.jsonl").write_bytes(DEEP + b"\n")
    code, text = _invoke(verify, str(out))
    assert code == 1 and "rejects.jsonl: line 1: expected a reject object with a reason" in text


def test_a_deep_sample_json_is_one_problem(out: Path) -> None:
    doc = sample_doc("celeba_train000000_f0")
    members = [(n, DEEP if n.endswith(".json") else d) for n, d in sample_members(doc)]
    write_shard(out / "train" / "shard-0000.tar", members)
    for command in (verify, inspect_cmd):
        code, text = _invoke(command, str(out))
        assert code == 1 and "nested at most 1024 levels deep" in text


def test_a_manifest_of_the_wrong_shape_is_reported(out: Path) -> None:
    doc = json.loads((out / "manifest.json").read_bytes())
    doc["rejects"] = ["not", "an", "object"]
    (out / "manifest.json").write_text(json.dumps(doc))
    code, text = _invoke(verify, str(out))
    assert code == 1 and "manifest.json: /rejects: expected" in text


def test_finite_json_turns_every_non_finite_float_into_null() -> None:
    doc = {"a": float("nan"), "b": [1.5, float("inf"), {"c": -float("inf")}], "d": (2, "x"), "e": 0.25}
    assert json.dumps(finite_json(doc), allow_nan=False) == (
        '{"a": null, "b": [1.5, null, {"c": null}], "d": [2, "x"], "e": 0.25}')
