"""BuildConfig, the shared click options and the output-folder guard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from flmprep.builder.config import (
    BuildConfig,
    build_options,
    from_options,
)
from flmprep.builder.outdir import STATE_FILE, read_state
from flmprep.builder.outdir import prepare as prepare_output
from flmprep.errors import ConfigError

ISSUE_OPTIONS = [
    "--dataset", "--root", "--out", "--recipe", "--splits", "--samples-per-shard", "--shard-bytes",
    "--image-format", "--quality", "--heatmaps", "--heatmap-size", "--sigma", "--seed", "--on-error",
    "--max-reject-ratio", "--resume", "--overwrite", "--crops", "--out-size", "--max-angle", "--flip-prob",
    "--photometric", "--min-shards",
]


def _opts(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    (tmp_path / "data").mkdir(exist_ok=True)
    values: dict[str, Any] = dict(dataset="celeba", root=str(tmp_path / "data"), out=str(tmp_path / "out"))
    values.update(changes)
    return values


def _parse(args: list[str]) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    @click.command()
    @build_options
    def cmd(**kwargs: Any) -> None:
        seen.update(kwargs)

    result = CliRunner().invoke(cmd, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return seen


def test_help_documents_every_option(tmp_path: Path) -> None:
    @click.command()
    @build_options
    def cmd(**kwargs: Any) -> None:
        pass

    text = CliRunner().invoke(cmd, ["--help"]).output
    missing = [o for o in ISSUE_OPTIONS if o not in text]
    assert missing == []


def test_options_give_a_resolved_config(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    kwargs = _parse(["--dataset", "wflw", "--root", str(tmp_path / "data"), "--out", str(tmp_path / "o"),
                     "--crops", "4", "--heatmaps", "--heatmap-size", "32", "--splits", "train,test"])
    cfg = from_options(**kwargs)
    assert (cfg.recipe, cfg.heatmap_size, cfg.splits) == ("wflw", (32, 32), ("train", "test"))
    assert cfg.recipe_params == {"crops": 4}
    doc = cfg.to_json()
    assert doc["recipe_config"]["crops"] == 4 and doc["recipe_config"]["out_size"] == 256
    assert "root" not in doc and "out" not in doc and "resume" not in doc
    other = from_options(**{**kwargs, "out": str(tmp_path / "elsewhere"), "resume": True})
    assert other.hash() == cfg.hash()
    assert from_options(**{**kwargs, "seed": 1}).hash() != cfg.hash()


def test_shard_bytes_is_kept_for_the_driver_to_resolve(tmp_path: Path) -> None:
    cfg = from_options(**_opts(tmp_path, shard_bytes=10_000_000))
    assert cfg.shard_bytes == 10_000_000 and cfg.to_json()["shard_bytes"] == 10_000_000
    assert "shard_bytes" not in from_options(**_opts(tmp_path)).to_json()  # older configs hash the same
    with pytest.raises(ConfigError, match="at most one of them, found both"):
        from_options(**_opts(tmp_path, shard_bytes=100, samples_per_shard=5))


@pytest.mark.parametrize(("changes", "message"), [
    ({"quality": 0}, r"--quality: expected an integer in 1..100, found 0"),
    ({"image_format": "gif"}, r"--image-format: expected jpg, png or webp, found 'gif'"),
    ({"resume": True, "overwrite": True}, r"--resume/--overwrite: expected at most one of them"),
    ({"recipe": "nope"}, r"--recipe: expected one of celeba, wflw, 300w, helen, found 'nope'"),
    ({"workers": 3}, r"expected only build and recipe options, found workers"),
    ({"recipe": "wflw", "dataset": "helen", "flip_prob": 0.5}, r"--recipe wflw on --dataset helen: .*flip"),
])
def test_bad_values_are_named(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_options(**_opts(tmp_path, **changes))


def _cfg(tmp_path: Path, **changes: Any) -> BuildConfig:
    return from_options(**_opts(tmp_path, **changes))


def test_non_empty_out_needs_resume_or_overwrite(tmp_path: Path) -> None:
    prepare_output(_cfg(tmp_path))
    assert read_state(tmp_path / "out") is not None
    with pytest.raises(ConfigError, match=r"expected an empty or new folder, found 1 entries \(use --resume"):
        prepare_output(_cfg(tmp_path))
    prepare_output(_cfg(tmp_path, resume=True))
    with pytest.raises(ConfigError,
                       match=r"--resume expected the config of the previous build .*seed: was 0, now 3"):
        prepare_output(_cfg(tmp_path, resume=True, seed=3))


def test_overwrite_removes_only_our_files_and_refuses_foreign_ones(tmp_path: Path) -> None:
    out = tmp_path / "out"
    prepare_output(_cfg(tmp_path))
    (out / "train").mkdir()
    for name in ("shard-0000.tar", "shard-0000.json", "shard-0000.idx", "shard-0001.tar.77-abc.tmp",
                 "shard-0001.idx.77-abc.tmp"):
        (out / "train" / name).write_bytes(b"x")
    (out / "manifest.json").write_text("{}")
    (out / "README.md").write_text("---\n---\n")
    prepare_output(_cfg(tmp_path, overwrite=True, seed=2))
    assert sorted(p.name for p in out.iterdir()) == [STATE_FILE]
    assert read_state(out)["config"]["seed"] == 2  # type: ignore[index]
    (out / "train").mkdir()
    (out / "train" / "notes.txt").write_text("mine")
    (out / "photo.jpg").write_bytes(b"x")
    with pytest.raises(ConfigError,
                       match=r"expected only files of a flmprep build, found photo.jpg, train/notes.txt"):
        prepare_output(_cfg(tmp_path, overwrite=True))
    assert (out / "photo.jpg").exists() and (out / "train" / "notes.txt").exists()
    other = tmp_path / "other"
    (other / "train").mkdir(parents=True)
    (other / "train" / "shard-0000.tar").write_bytes(b"x")
    with pytest.raises(ConfigError, match=r"--resume expected a previous flmprep build \(.flmprep-build"):
        prepare_output(_cfg(tmp_path, out=str(other), resume=True))
    prepare_output(_cfg(tmp_path, out=str(tmp_path / "new"), resume=True))  # nothing to resume: a fresh build
    assert read_state(tmp_path / "new") is not None


def test_resume_refuses_other_library_versions_and_names_them(tmp_path: Path) -> None:
    """Shards are byte-identical only for the same library versions: a resume under others stops."""
    from flmprep.builder.versions import library_versions
    from flmprep.jsonio import write_json

    prepare_output(_cfg(tmp_path))
    out = tmp_path / "out"
    state = read_state(out)
    assert state is not None and state["versions"] == library_versions()
    assert set(state["versions"]) == {"flmprep", "python", "numpy", "opencv", "simplejpeg", "libjpeg-turbo",
                                      "pillow"}
    write_json(out / STATE_FILE, {**state, "versions": {**state["versions"], "numpy": "1.0.0"}})
    with pytest.raises(ConfigError, match=rf"library versions of the previous build .*numpy was 1.0.0, now "
                                          rf"{library_versions()['numpy']}"):
        prepare_output(_cfg(tmp_path, resume=True))
    write_json(out / STATE_FILE, {k: v for k, v in state.items() if k != "versions"})
    with pytest.raises(ConfigError, match=r"numpy was not recorded"):
        prepare_output(_cfg(tmp_path, resume=True))


def test_min_shards_is_an_option_recorded_in_the_config(tmp_path: Path) -> None:
    parsed = _parse(["--dataset", "celeba", "--root", str(tmp_path), "--out", str(tmp_path / "o")])
    assert parsed["min_shards"] == 1
    cfg = from_options(**_opts(tmp_path, min_shards=4))
    assert cfg.min_shards == 4 and cfg.to_json()["min_shards"] == 4
    assert cfg.hash() != from_options(**_opts(tmp_path)).hash()
    with pytest.raises(ConfigError, match=r"--min-shards: expected a positive integer, found 0"):
        from_options(**_opts(tmp_path, min_shards=0))
