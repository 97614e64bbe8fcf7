"""Hostile and broken inputs to the commands after the readers: source images under ``build``,
built shards and manifests under ``train`` and ``evaluate``, checkpoints, run folders.

Each case runs the real command (click's runner, in this process) and asserts the exact exit
status, one ``flmprep <command>: error:`` line naming the place (file, shard and sample key,
checkpoint) with what was expected, and no traceback. Builds also recount, with the standard
library's ``tarfile`` and ``json``, that every input record is either a written sample or a line
of ``rejects.jsonl``; training runs recount the skipped samples against the ones corrupted here.
"""

from __future__ import annotations

import json
import os
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from flmprep.cli import main
from tests.helpers import golden
from tests.helpers.build_data import corrupt, image_path, write_celeba
from tests.helpers.train_shards import write_dataset

TRAIN = ("--model", "vanilla96", "--epochs", "1", "--batch-size", "2", "--workers", "0")


def _run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _error_line(result: Result, command: str) -> str:
    """The one error line of ``result`` (its stderr holds nothing else but log warnings)."""
    assert "Traceback" not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith(f"flmprep {command}: error: ")]
    assert len(lines) == 1, result.output
    return lines[0].removeprefix(f"flmprep {command}: error: ")


# --- built datasets and their shards ----------------------------------------------------------------


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}  # type: ignore[union-attr]


def _rewrite(path: Path, members: dict[str, bytes]) -> None:
    golden.write_shard(path, sorted(members.items()))


Break = Callable[[Path], list[str]]  # (built dataset root) -> keys of the samples it corrupted


def member_of(ext: str, data: bytes | Callable[[bytes], bytes], count: int = 1) -> Break:
    """Replace the ``ext`` member of the first ``count`` training samples."""

    def breaks(root: Path) -> list[str]:
        path = root / "train/shard-0000.tar"
        members = _members(path)
        names = sorted(n for n in members if n.endswith(f".{ext}"))[:count]
        for name in names:
            members[name] = data(members[name]) if callable(data) else data
        _rewrite(path, members)
        return [n.removesuffix(f".{ext}") for n in names]

    return breaks


def drop_member(ext: str) -> Break:
    def breaks(root: Path) -> list[str]:
        path = root / "train/shard-0000.tar"
        members = _members(path)
        name = sorted(n for n in members if n.endswith(f".{ext}"))[0]
        del members[name]
        _rewrite(path, members)
        return [name.removesuffix(f".{ext}")]

    return breaks


def _json_with(**changes: object) -> Callable[[bytes], bytes]:
    def change(data: bytes) -> bytes:
        return json.dumps({**json.loads(data), **changes}).encode()

    return change


@dataclass(frozen=True)
class Corrupt:
    """A sample-level fault: the run skips the sample, names it, and counts it."""

    id: str
    breaks: Break
    message: str  # what the error names after "<shard>:<key>"


CORRUPT = [
    Corrupt("jpeg-header", member_of("jpg", lambda b: b"XYZ" + b[3:]), "expected a decodable sample"),
    Corrupt("jpeg-truncated", member_of("jpg", lambda b: b[:40]), "expected a decodable sample"),
    Corrupt("jpeg-empty", member_of("jpg", b""), "expected a decodable sample"),
    Corrupt("jpeg-text", member_of("jpg", b"not a jpeg at all\n" * 8), "expected a decodable sample"),
    Corrupt("json-not-json", member_of("json", b"{not json"), ".json: expected valid JSON"),
    Corrupt("json-deep", member_of("json", b"[" * 100_000 + b"]" * 100_000), ".json: expected valid JSON"),
    Corrupt("json-list", member_of("json", b"[1, 2]"), ".json: expected schema"),
    Corrupt("json-schema", member_of("json", _json_with(schema="other/9")), ".json: expected schema"),
    Corrupt("json-nan", member_of("json", _json_with(landmarks=[[float("nan"), 1.0]] * 5)),
            ".json: expected valid JSON"),
    Corrupt("json-no-landmarks", member_of("json", _json_with(landmarks=None)),
            ".json: expected landmarks, visible, transform"),
    Corrupt("json-odd-landmarks", member_of("json", _json_with(landmarks=[1.0, 2.0, 3.0])),
            ".json: expected landmarks, visible, transform"),
    Corrupt("json-three-points",
            member_of("json", _json_with(landmarks=[[1.0, 2.0]] * 3, visible=[True] * 3)),
            ".json: expected 5 landmarks (the scheme's), found 3"),
    Corrupt("json-short-visible", member_of("json", _json_with(visible=[True])), ".json: expected 5 visible"),
    Corrupt("json-transform", member_of("json", _json_with(transform=[[1, 0], [0, 1]])),
            ".json: expected landmarks, visible, transform"),
    Corrupt("no-image", drop_member("jpg"), "expected a .jpg, .png or .webp member"),
    Corrupt("no-json", drop_member("json"), "expected a .json member"),
]


@pytest.fixture()
def built(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    write_dataset(root, {"train": [6], "test": [2]})
    return root


@pytest.mark.parametrize("case", CORRUPT, ids=[c.id for c in CORRUPT])
def test_a_corrupt_sample_is_skipped_counted_then_limited(case: Corrupt, built: Path, tmp_path: Path) -> None:
    keys = case.breaks(built)
    ok = _run("train", "--data", built, "-o", tmp_path / "run", *TRAIN)
    assert ok.exit_code == 0, ok.output
    assert "Traceback" not in ok.output
    assert "skipped 1 corrupt" in ok.stdout
    (row,) = [json.loads(line) for line in (tmp_path / "run/history.jsonl").read_text().splitlines()]
    assert row["skipped"] == len(keys) == 1 and row["steps"] == 3  # 6 samples, batch 2: steps kept
    stopped = _run("train", "--data", built, "-o", tmp_path / "run0", *TRAIN, "--max-corrupt", "0")
    assert stopped.exit_code == 2
    line = _error_line(stopped, "train")
    assert line.startswith("epoch 1, rank 0: expected at most 0 corrupt samples (--max-corrupt), found 1; ")
    assert f"train/shard-0000.tar:{keys[0]}" in line and case.message in line


@dataclass(frozen=True)
class Broken:
    """A fault that stops the run: one line, exit 2."""

    id: str
    breaks: Callable[[Path], object]
    message: str  # regex searched in the error line


def _manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


def _edit_manifest(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def breaks(root: Path) -> None:
        doc = _manifest(root)
        change(doc)
        (root / "manifest.json").write_text(json.dumps(doc))

    return breaks


def _fewer_samples(root: Path) -> None:
    path = root / "train/shard-0000.tar"
    members = _members(path)
    last = sorted({n.split(".")[0] for n in members})[-1]
    _rewrite(path, {n: d for n, d in members.items() if not n.startswith(f"{last}.")})


def _truncate_shard(root: Path) -> None:
    path = root / "train/shard-0000.tar"
    path.write_bytes(path.read_bytes()[:1300])


def _all_images_corrupt(root: Path) -> None:
    member_of("jpg", b"", count=6)(root)


def _shard_is_folder(root: Path) -> None:
    path = root / "train/shard-0000.tar"
    path.unlink()
    path.mkdir()


BROKEN = [
    Broken("no-manifest", lambda r: (r / "manifest.json").unlink(), r"manifest\.json"),
    Broken("manifest-not-json", lambda r: (r / "manifest.json").write_text("{oops"), r"manifest\.json.*JSON"),
    Broken("manifest-deep", lambda r: (r / "manifest.json").write_text("[" * 100_000 + "]" * 100_000),
           r"manifest\.json"),
    Broken("manifest-list", lambda r: (r / "manifest.json").write_text("[]"), r"manifest\.json"),
    Broken("manifest-no-splits", _edit_manifest(lambda d: d.pop("splits")), r"manifest\.json"),
    Broken("manifest-split-list", _edit_manifest(lambda d: d.update(splits=[])), r"manifest\.json"),
    Broken("manifest-no-train", _edit_manifest(lambda d: d["splits"].pop("train")),
           r"expected split 'train', found splits: test"),
    Broken("shard-missing", lambda r: (r / "train/shard-0000.tar").unlink(), r"train/shard-0000\.tar"),
    Broken("shard-is-folder", _shard_is_folder, r"train/shard-0000\.tar"),
    Broken("shard-fewer-samples", _fewer_samples,
           r"train/shard-0000\.tar: expected at least 6 samples \(manifest\), found 5"),
    Broken("shard-truncated", _truncate_shard, r"train/shard-0000\.tar"),
    Broken("shard-not-tar", lambda r: (r / "train/shard-0000.tar").write_bytes(b"\x00garbage" * 200),
           r"train/shard-0000\.tar"),
    Broken("only-corrupt-samples", _all_images_corrupt,
           r"expected a readable sample in this loader worker's share, found 6 corrupt ones"),
]


@pytest.mark.parametrize("case", BROKEN, ids=[c.id for c in BROKEN])
def test_a_broken_dataset_stops_training_in_one_line(case: Broken, built: Path, tmp_path: Path) -> None:
    case.breaks(built)
    result = _run("train", "--data", built, "-o", tmp_path / "run", *TRAIN, "--max-corrupt", "100")
    assert result.exit_code == 2, result.output
    assert re.search(case.message, _error_line(result, "train"))


def test_a_run_that_diverges_stops_naming_the_step(built: Path, tmp_path: Path) -> None:
    result = _run("train", "--data", built, "-o", tmp_path / "run", *TRAIN, "--lr", "1e30")
    assert result.exit_code == 2
    line = _error_line(result, "train")
    assert re.fullmatch(r"epoch 1, step \d: expected a finite training loss, found (nan|inf|-inf); the run "
                        r"diverged \(lower --lr, or check the data with flmprep verify\)", line)
    history = tmp_path / "run/history.jsonl"
    assert not history.exists() or "NaN" not in history.read_text()


def test_a_split_too_small_for_the_batch_is_one_line(built: Path, tmp_path: Path) -> None:
    result = _run("train", "--data", built, "-o", tmp_path / "run", *TRAIN[:4], "--batch-size", "64")
    assert result.exit_code == 2
    assert "batch" in _error_line(result, "train")


def test_an_unknown_validation_split_lists_the_splits(built: Path, tmp_path: Path) -> None:
    result = _run("train", "--data", built, "-o", tmp_path / "run", *TRAIN, "--val-split", "vall")
    assert result.exit_code == 2
    assert _error_line(result, "train").endswith("expected split 'vall', found splits: test, train")


# --- run folders and checkpoints ------------------------------------------------------------------


@pytest.fixture()
def trained(built: Path, tmp_path: Path) -> Path:
    run = tmp_path / "trained"
    assert _run("train", "--data", built, "-o", run, *TRAIN).exit_code == 0
    return run


def test_resume_of_a_finished_run_says_so(built: Path, trained: Path) -> None:
    before = (trained / "last.pt").read_bytes()
    result = _run("train", "--data", built, "-o", trained, *TRAIN, "--resume")
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert result.stdout.strip() == (
        f"{trained / 'last.pt'}: the run already finished epoch 1 of --epochs 1; "
        "nothing to train (a larger --epochs goes on from there)")
    assert (trained / "last.pt").read_bytes() == before


def test_a_second_run_into_a_used_folder_is_refused(built: Path, trained: Path) -> None:
    result = _run("train", "--data", built, "-o", trained, *TRAIN)
    assert result.exit_code == 2
    expected = f"{trained} already holds last.pt; pass --resume or another --output"
    assert _error_line(result, "train") == expected


def test_an_output_under_a_file_is_one_line(built: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = _run("train", "--data", built, "-o", tmp_path / "file/run", *TRAIN)
    assert result.exit_code == 2
    assert str(tmp_path / "file") in _error_line(result, "train")


CHECKPOINTS: dict[str, Callable[[Path], object]] = {
    "garbage": lambda p: p.write_bytes(b"\x00garbage" * 100),
    "empty": lambda p: p.write_bytes(b""),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[:2000]),
    "foreign": lambda p: __import__("torch").save({"weights": [1, 2]}, p),
    "no-fields": lambda p: __import__("torch").save({"format": "flmprep.checkpoint/1"}, p),
}


@pytest.mark.parametrize("kind", sorted(CHECKPOINTS))
def test_a_bad_checkpoint_is_one_line_naming_it(kind: str, built: Path, trained: Path) -> None:
    ckpt = trained / "best.pt"
    CHECKPOINTS[kind](ckpt)
    result = _run("evaluate", "--data", built, "--checkpoint", ckpt, "--workers", "0")
    assert result.exit_code == 2
    assert _error_line(result, "evaluate").startswith(f"{ckpt}: expected ")
    CHECKPOINTS[kind](trained / "last.pt")
    resumed = _run("train", "--data", built, "-o", trained, *TRAIN, "--epochs", "2", "--resume")
    assert resumed.exit_code == 2
    assert _error_line(resumed, "train").startswith(f"{trained / 'last.pt'}: expected ")


def test_a_checkpoint_of_another_scheme_is_refused(trained: Path, tmp_path: Path) -> None:
    other = tmp_path / "ibug"
    write_dataset(other, {"test": [2]}, scheme="ibug68")
    result = _run("evaluate", "--data", other, "--checkpoint", trained / "best.pt", "--workers", "0")
    assert result.exit_code == 2
    assert "expected scheme 'ibug68' (the dataset's), found 'celeba5'" in _error_line(result, "evaluate")


def test_evaluate_skips_and_reports_a_corrupt_sample(built: Path, trained: Path) -> None:
    path = built / "test/shard-0000.tar"
    members = _members(path)
    name = sorted(n for n in members if n.endswith(".jpg"))[0]
    members[name] = b""
    _rewrite(path, members)
    result = _run("evaluate", "--data", built, "--checkpoint", trained / "best.pt", "--workers", "0",
                  "--json")
    assert result.exit_code == 1 and "Traceback" not in result.output
    report = json.loads(result.stdout)
    assert report["count"] == 1 and len(report["skipped"]) == 1
    assert report["skipped"][0].startswith(f"test/shard-0000.tar:{name.removesuffix('.jpg')}: ")


def test_evaluate_of_an_unknown_split_lists_the_splits(built: Path, trained: Path) -> None:
    result = _run("evaluate", "--data", built, "--checkpoint", trained / "best.pt", "--split", "tset")
    assert result.exit_code == 2
    assert _error_line(result, "evaluate").endswith("expected split 'tset', found splits: test, train")


# --- source images under build --------------------------------------------------------------------


def _recount(out: Path) -> tuple[int, list[dict]]:
    """Samples in every shard (tarfile) and the rejects (json), read without flmprep."""
    samples = 0
    for shard in sorted(out.glob("*/shard-*.tar")):
        with tarfile.open(shard) as tar:
            samples += sum(1 for m in tar if m.name.endswith(".json"))
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines() if line]
    return samples, rejects


def _outside_link(root: Path, index: int) -> None:
    outside = root.parent / "outside.jpg"
    outside.write_bytes(image_path(root, 2).read_bytes())
    image_path(root, index).unlink()
    image_path(root, index).symlink_to(outside)


def _folder(root: Path, index: int) -> None:
    image_path(root, index).unlink()
    image_path(root, index).mkdir()


def _fifo(root: Path, index: int) -> None:
    image_path(root, index).unlink()
    os.mkfifo(image_path(root, index))


def _kind(kind: str) -> Callable[[Path, int], None]:
    return lambda root, index: corrupt(root, index, kind)


IMAGES: dict[str, tuple[Callable[[Path, int], None], str]] = {
    "missing": (_kind("missing"), "missing_image"),
    "empty": (_kind("empty"), "empty_file"),
    "truncated": (_kind("truncated"), "truncated_image"),
    "text": (_kind("not_image"), "not_an_image"),
    "tiny": (_kind("too_small"), "landmarks_outside_image"),
    "outside-link": (_outside_link, "path_outside_root"),
    "folder": (_folder, "missing_image"),
    "fifo": (_fifo, "missing_image"),
}


@pytest.mark.parametrize("kind", sorted(IMAGES))
def test_a_bad_source_image_is_a_reject_and_nothing_is_lost(kind: str, tmp_path: Path) -> None:
    root = write_celeba(tmp_path / "celeba", 6, splits=(4, 1, 1))
    change, reason = IMAGES[kind]
    change(root, 3)
    out = tmp_path / "out"
    args = ("build", "--dataset", "celeba", "--root", root, "--out", out, "--crops", "2", "--workers", "1",
            "--max-reject-ratio", "0.5")
    result = _run(*args)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    samples, rejects = _recount(out)
    assert [(r["reason"], r["key"], r["origin"]) for r in rejects] == [
        (reason, "celeba_000003_f0", "Anno/list_landmarks_celeba.txt:5")]
    assert "img_celeba/000003.jpg" in rejects[0]["message"] and "outside.jpg" not in rejects[0]["message"]
    records = len((root / "Anno/list_landmarks_celeba.txt").read_text().splitlines()) - 2
    assert records == 6 and samples == 3 * 2 + 1 + 1  # 3 good train records × 2 crops, val, test
    failed = _run(*args[:-2], "--out", tmp_path / "out2", "--on-error", "fail")
    assert failed.exit_code == 2
    assert "000003.jpg" in _error_line(failed, "build")
