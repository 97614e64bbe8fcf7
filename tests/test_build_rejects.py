"""Bad input never stops or corrupts a build: every kind becomes a reject with a stable code,
and input records = written + rejected (plan, build_shard and finalize, in this process)."""

from __future__ import annotations

import json
import struct
import zlib
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from flmprep import imageio
from flmprep.builder import finalize, plan
from flmprep.builder.config import BuildConfig
from flmprep.builder.errors import BuildError
from flmprep.builder.outdir import check_plan
from flmprep.builder.outdir import prepare as prepare_output
from flmprep.builder.shard import build_shard
from flmprep.errors import ConfigError
from flmprep.records import FaceRecord

SCHEMAS = resources.files("flmprep.schemas")
PTS = [[60.0, 50.0], [100.0, 52.0], [80.0, 75.0], [65.0, 95.0], [97.0, 96.0]]


def _jpeg(w: int = 160, h: int = 140, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return imageio.encode(rng.integers(0, 255, size=(h, w, 3), dtype=np.uint8), "jpg", 90)


def _png_claiming(w: int, h: int) -> bytes:
    """A PNG whose IHDR claims w×h pixels (a decompression-bomb header)."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00" * 64


def _record(name: str, split: str = "train", points: Any = PTS) -> FaceRecord:
    return FaceRecord(f"celeba_{name}_f0", "celeba", split, f"img/{name}.jpg", 0, "celeba5",
                      np.asarray(points, dtype=np.float32), origin=f"list.txt:{name}")


BAD: dict[str, tuple[str, bytes | None, dict[str, Any]]] = {
    # name: (expected reason, file bytes or None for no file, record changes)
    "missing": ("missing_image", None, {}),
    "empty": ("empty_file", b"", {}),
    "notimage": ("not_an_image", b"just some text, not an image\n" * 4, {}),
    "truncated": ("truncated_image", _jpeg(seed=9)[:1500], {}),
    "bomb": ("too_many_pixels", _png_claiming(20000, 20000), {}),
    "outside": ("landmarks_outside_image", _jpeg(), {"points": [*PTS[:4], [400.0, 50.0]]}),
    "nan": ("nonfinite_landmarks", _jpeg(), {"points": [*PTS[:4], [float("nan"), 50.0]]}),
    "nosplit": ("split_missing", _jpeg(), {"split": ""}),
}


def _dataset(root: Path, good: int) -> list[FaceRecord]:
    (root / "img").mkdir(parents=True)
    records = []
    for i in range(good):
        (root / "img" / f"ok{i:02d}.jpg").write_bytes(_jpeg(seed=i))
        records.append(_record(f"ok{i:02d}"))
    for name, (_, data, changes) in BAD.items():
        if data is not None:
            (root / "img" / f"{name}.jpg").write_bytes(data)
        records.append(_record(name, **changes))
    return records


def _build(cfg: BuildConfig, records: list[FaceRecord]) -> dict[str, Any]:
    prepare_output(cfg)
    tasks = [plan.ProbeTask(0, cfg, tuple(records[:5])), plan.ProbeTask(1, cfg, tuple(records[5:]))]
    the_plan = plan.make_plan(cfg, [plan.run_probe(t) for t in tasks])
    check_plan(cfg, plan.fingerprint(the_plan))  # the driver's resume guard
    for task in the_plan.tasks:
        build_shard(task)
    return finalize.finalize(cfg, the_plan).to_json()


def _cfg(tmp_path: Path, **changes: Any) -> BuildConfig:
    values: dict[str, Any] = dict(dataset="celeba", root=str(tmp_path / "data"), out=str(tmp_path / "out"),
                                  recipe="celeba", recipe_params={"crops": 3}, samples_per_shard=4)
    values.update(changes)
    return BuildConfig(**values)


def test_every_bad_input_kind_becomes_a_reject(tmp_path: Path) -> None:
    records = _dataset(tmp_path / "data", good=6)
    cfg = _cfg(tmp_path)
    manifest = _build(cfg, records)
    jsonschema.validate(manifest, json.loads(SCHEMAS.joinpath("manifest.schema.json").read_text("utf-8")))
    totals = manifest["totals"]
    assert totals == {"input_records": 14, "written_records": 6, "rejected_records": 8, "samples": 18}
    assert totals["input_records"] == totals["written_records"] + totals["rejected_records"]
    lines = (tmp_path / "out" / "rejects.jsonl").read_text().splitlines()
    got = {json.loads(line)["key"]: json.loads(line)["reason"] for line in lines}
    assert got == {f"celeba_{name}_f0": reason for name, (reason, _, _) in BAD.items()}
    assert manifest["rejects"]["by_reason"] == {reason: 1 for reason, _, _ in BAD.values()}
    first = json.loads(lines[0])
    assert first["message"] and first["origin"].startswith("list.txt:")
    # the truncated JPEG has a valid header: it passes the probe and is rejected by build_shard,
    # listed in its shard's sidecar; that shard then holds fewer samples (the documented exception)
    sides = [json.loads(p.read_text()) for p in sorted((tmp_path / "out" / "train").glob("*.json"))]
    listed = [r["key"] for s in sides for r in s["rejected"]]
    assert listed == ["celeba_truncated_f0"]
    short = next(s for s in sides if s["rejected"])
    assert short["samples"] < 4 or short is sides[-1]
    assert sum(s["samples"] for s in sides) == manifest["splits"]["train"]["samples"] == 18


def test_image_too_small_for_the_recipe_is_rejected(tmp_path: Path) -> None:
    """helen rotates the keypoints before cropping: with landmarks on the image's corners no
    rotated view fits. The canonical (unrotated) view passes the probe, so build_shard rejects it."""
    root = tmp_path / "data"
    (root / "img").mkdir(parents=True)
    (root / "img" / "small.jpg").write_bytes(_jpeg(40, 30))
    (root / "img" / "fine.jpg").write_bytes(_jpeg())
    corners = [[-0.5, -0.5], [39.5, -0.5], [20.0, 15.0], [-0.5, 29.5], [39.5, 29.5]]
    records = [_record("small", "train", corners), _record("fine", "train")]
    manifest = _build(_cfg(tmp_path, recipe="helen", recipe_params={"crops": 2}), records)
    assert manifest["rejects"]["by_reason"] == {"image_too_small": 1}
    assert manifest["totals"]["written_records"] == 1
    sides = [json.loads(p.read_text()) for p in sorted((tmp_path / "out" / "train").glob("*.json"))]
    listed = [r for s in sides for r in s["rejected"]]
    assert [r["key"] for r in listed] == ["celeba_small_f0"]
    assert "helen: expected a" in listed[0]["message"]


def test_on_error_fail_names_the_record(tmp_path: Path) -> None:
    records = _dataset(tmp_path / "data", good=2)
    cfg = _cfg(tmp_path, on_error="fail")
    with pytest.raises(BuildError, match=r"record celeba_nosplit_f0 \(list.txt:nosplit\): split_missing: "
                       r"img/nosplit.jpg: expected a split \(train/val/test\), found none"):
        _build(cfg, records)
    truncated = [r for r in records if r.key in ("celeba_ok00_f0", "celeba_truncated_f0")]
    cfg2 = _cfg(tmp_path, out=str(tmp_path / "out2"), on_error="fail")
    with pytest.raises(BuildError, match=r"record celeba_truncated_f0 .*truncated_image"):
        _build(cfg2, truncated)
    assert not list((tmp_path / "out2").glob("*/*.tmp"))


def test_outputs_do_not_depend_on_where_the_dataset_lives(tmp_path: Path) -> None:
    trees = []
    for where in ("a", "b/deeper"):
        root = tmp_path / where / "data"
        records = [FaceRecord(r.key, r.dataset, r.split, r.image, r.face, r.scheme, r.landmarks,
                              origin=f"{root}/list.txt:{r.key}") for r in _dataset(root, good=3)]
        out = tmp_path / where / "out"
        _build(_cfg(tmp_path, root=str(root), out=str(out)), records)
        trees.append({str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()})
    assert trees[0] == trees[1]
    assert b"list.txt:celeba_truncated_f0" in trees[0]["rejects.jsonl"]
    assert str(tmp_path).encode() not in b"".join(trees[0].values())


def test_resume_refuses_changed_records(tmp_path: Path) -> None:
    records = _dataset(tmp_path / "data", good=3)
    _build(_cfg(tmp_path), records)
    again = _build(_cfg(tmp_path, resume=True), records)  # same records: a no-op resume
    assert again["totals"]["written_records"] == 3
    moved = [FaceRecord(r.key, r.dataset, r.split, r.image, r.face, r.scheme, r.landmarks + 1.0,
                        origin=r.origin) for r in records]
    with pytest.raises(ConfigError, match=r"expected the records of the previous build .*--overwrite"):
        _build(_cfg(tmp_path, resume=True), moved)


def test_a_straddling_record_that_fails_to_decode_is_counted_once(tmp_path: Path) -> None:
    root = tmp_path / "data"
    records = _dataset(root, good=4)[:4]
    cfg = _cfg(tmp_path)
    prepare_output(cfg)
    the_plan = plan.make_plan(cfg, [plan.run_probe(plan.ProbeTask(0, cfg, tuple(records)))])
    split = next(i for t in the_plan.tasks for i in t.items if not i.owner)
    path = root / split.record.image
    path.write_bytes(path.read_bytes()[:1500])  # header intact: only the full decode fails
    for task in the_plan.tasks:
        build_shard(task)
    manifest = finalize.finalize(cfg, the_plan).to_json()
    totals = manifest["totals"]
    assert totals == {"input_records": 4, "written_records": 3, "rejected_records": 1, "samples": 9}
    sides = [json.loads(t.sidecar_path.read_text()) for t in the_plan.tasks]
    assert [r["key"] for s in sides for r in s["rejected"]] == [split.record.key]
    for task, side in zip(the_plan.tasks, sides, strict=True):  # both pieces of the record are dropped
        lost = sum(i.stop - i.start for i in task.items if i.record.key == split.record.key)
        assert side["samples"] == task.samples - lost
