"""End to end: `flmprep synth` → `flmprep build` → `inspect`/`verify` exit 0 and every file the builder
wrote validates against schemas/*.schema.json; then damage the output and see verify name it."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from flmprep.cli import main
from flmprep.validate import load_schema
from flmprep.verify import verify_output

BUILDS = {
    "celeba": ["--crops", "3", "--heatmaps", "--heatmap-size", "32", "--samples-per-shard", "5"],
    "wflw": ["--samples-per-shard", "2"],
    "300w": ["--samples-per-shard", "3"],
}


def _synth_and_build(base: Path, dataset: str) -> Path:
    """`flmprep synth` then `flmprep build` (one worker) into base/out-DATASET."""
    runner = CliRunner()
    result = runner.invoke(main, ["synth", dataset, str(base / f"src-{dataset}"), "--n", "6", "--seed", "3"])
    assert result.exit_code == 0, result.output
    out = base / f"out-{dataset}"
    args = [
        "build",
        "--dataset",
        dataset,
        "--root",
        str(base / f"src-{dataset}"),
        "--out",
        str(out),
        "--workers",
        "1",
        "--no-progress",
        *BUILDS[dataset],
    ]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    return out


Cache = tuple[Path, dict[str, Path]]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Cache:
    """Builds are made once per module and shared by the tests."""
    return tmp_path_factory.mktemp("e2e"), {}


def _get(cache: Cache, dataset: str) -> Path:
    base, done = cache
    if dataset not in done:
        done[dataset] = _synth_and_build(base, dataset)
    return done[dataset]


@pytest.fixture(params=sorted(BUILDS))
def built(request: pytest.FixtureRequest, cache: Cache) -> Path:
    return _get(cache, str(request.param))


def test_builder_output_validates_against_the_schemas(built: Path) -> None:
    manifest = json.loads((built / "manifest.json").read_bytes())
    Draft202012Validator(load_schema("manifest")).validate(manifest)
    sample_schema = Draft202012Validator(load_schema("sample"))
    count = 0
    for split in manifest["splits"].values():
        for shard in split["shards"]:
            Draft202012Validator(load_schema("shard")).validate(
                json.loads((built / shard["path"]).with_suffix(".json").read_bytes())
            )
            with tarfile.open(built / shard["path"]) as tar:
                for member in tar:
                    if member.name.endswith(".json"):
                        sample_schema.validate(json.load(tar.extractfile(member)))  # type: ignore[arg-type]
                        count += 1
    assert count == manifest["totals"]["samples"] > 0


def test_inspect_and_verify_pass_on_a_fresh_build(built: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.png"
    args = ["inspect", str(built), "--json", "--render", str(sheet), "--n", "4", "--labels", "--heatmaps"]
    inspected = CliRunner().invoke(main, args)
    assert inspected.exit_code == 0, inspected.output
    doc = json.loads(inspected.stdout)
    assert sheet.read_bytes().startswith(b"\x89PNG") and doc["render"]["samples"] == 4
    samples = json.loads((built / "manifest.json").read_bytes())["totals"]["samples"]
    assert doc["samples"] == doc["validation"]["valid"] == samples
    if "celeba" in built.name:
        assert doc["heatmaps"] == {"32x32 sigma=2.5 tiles=3x2": samples}
    verified = CliRunner().invoke(main, ["verify", str(built)])
    assert verified.exit_code == 0, verified.output


def test_verify_names_each_kind_of_damage(cache: Cache, tmp_path: Path) -> None:
    built = _get(cache, "celeba")
    out = tmp_path / "copy"
    out.mkdir()
    for path in built.rglob("*"):
        if path.is_file():
            (out / path.relative_to(built)).parent.mkdir(parents=True, exist_ok=True)
            (out / path.relative_to(built)).write_bytes(path.read_bytes())
    shards = [
        s["path"]
        for split in json.loads((out / "manifest.json").read_bytes())["splits"].values()
        for s in split["shards"]
    ]
    corrupt, deleted = out / shards[0], out / shards[-1]
    data = bytearray(corrupt.read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    deleted.unlink()
    (out / "train" / "shard-0099.tar").write_bytes((out / shards[1]).read_bytes())
    problems = [str(p) for p in verify_output(out).problems]
    assert any(p.startswith(f"{shards[0]}: expected sha256 ") for p in problems)
    assert f"{shards[-1]}: expected the shard listed in manifest.json, found no file" in problems
    assert (
        "train/shard-0099.tar: expected only shards listed in manifest.json, found an unlisted shard"
        in problems
    )
    result = CliRunner().invoke(main, ["verify", str(out)])
    assert result.exit_code == 1 and result.stdout.count("PROBLEM") == len(problems) >= 3
