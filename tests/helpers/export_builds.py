"""Builds for the exporter tests: a real `flmprep synth` + `flmprep build` of WFLW, golden
datasets in other image formats, and the tar members of a split read with the standard
library's ``tarfile`` (independent of flmprep's reader), to compare exports against."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from flmprep.cli import main
from tests.helpers import golden
from tests.helpers.shards import sample_doc, sample_members


def synth_build(base: Path, *, n: int = 6, heatmaps: bool = True) -> tuple[Path, Path]:
    """(source dataset root, build OUT) of a small synthetic WFLW built with one worker:
    64×64 JPEG crops, 3 samples per shard (several shards per split), heatmaps when asked."""
    runner = CliRunner()
    src, out = base / "wflw-src", base / "wflw-out"
    result = runner.invoke(main, ["synth", "wflw", str(src), "--n", str(n), "--seed", "3"])
    assert result.exit_code == 0, result.output
    args = ["build", "--dataset", "wflw", "--root", str(src), "--out", str(out), "--out-size", "64",
            "--samples-per-shard", "3", "--workers", "1", "--no-progress"]
    if heatmaps:
        args += ["--heatmaps", "--heatmap-size", "16"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    return src, out


def mixed_format_build(out: Path) -> Path:
    """A golden celeba5 build whose train split holds PNG greyscale and WebP colour samples (one
    point outside the image in view 2) and whose test split holds JPEG ones."""
    def members(split: str, fmt: str, channels: int, views: int) -> golden.Members:
        found: golden.Members = []
        for view in range(views):
            record = f"celeba_{split}{fmt}_f0"
            doc = sample_doc(record, view, split=split, fmt=fmt, channels=channels, seed=view)
            found += sample_members(doc, seed=view)
        return sorted(found)

    golden.write_dataset(out, {"train": [members("train", "png", 1, 3), members("train", "webp", 3, 3)],
                               "test": [members("test", "jpg", 3, 2)]})
    return out


def split_members(out: Path, split: str) -> list[dict[str, bytes]]:
    """Every sample of ``split`` in manifest order: extension -> member bytes, plus ``key``."""
    manifest = json.loads((out / "manifest.json").read_text())
    samples: list[dict[str, Any]] = []
    for shard in manifest["splits"][split]["shards"]:
        with tarfile.open(out / shard["path"]) as tar:
            for info in tar.getmembers():
                key, ext = info.name.split(".", 1)
                if not samples or samples[-1]["key"] != key.encode():
                    samples.append({"key": key.encode()})
                data = tar.extractfile(info)
                assert data is not None
                samples[-1][ext] = data.read()
    return samples


def image_member(sample: dict[str, bytes]) -> tuple[str, bytes]:
    """(extension, bytes) of the sample's image member."""
    (ext,) = [e for e in sample if e in ("jpg", "png", "webp")]
    return ext, sample[ext]
