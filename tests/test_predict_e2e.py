"""The predict path on a trained checkpoint: agreement with evaluation on shards, refinement,
calibration stored with the checkpoint, the ONNX path, and the CLI's outputs and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from flmprep import imageio, validate
from flmprep.cli import main as cli
from flmprep.formats import read_dataset
from flmprep.inference.calibration import box_size, extent
from flmprep.inference.errors import InferenceError
from flmprep.predict import ANNOTATED, HAAR, LANDMARKS, PredictError, Predictor, SourceImage
from flmprep.predict.evaluate import evaluate_sources
from flmprep.records import FaceRecord
from flmprep.shards.reader import iter_samples
from flmprep.train import checkpoint
from flmprep.train.predict import evaluate_checkpoint
from flmprep.train.runtime import start
from tests.helpers.predict_data import TrainedCeleba

pytestmark = pytest.mark.slow  # trains a vanilla96 once per session (about 70 s on 2 cores)


@pytest.fixture(scope="module")
def predictor(trained_celeba: TrainedCeleba) -> Predictor:
    torch.set_num_threads(1)
    return Predictor.from_checkpoint(trained_celeba.checkpoint)


def _test_records(t: TrainedCeleba) -> list[FaceRecord]:
    return [r for r in read_dataset("celeba", t.root) if r.split == "test"]


def _nme(p: Predictor, record: FaceRecord, points: np.ndarray) -> float:
    truth = np.asarray(record.landmarks, dtype=np.float64)
    return float(np.linalg.norm(points - truth, axis=1).mean() / p.scheme.nme(truth))


def test_the_checkpoint_carries_recipe_input_and_calibration(trained_celeba: TrainedCeleba) -> None:
    ckpt = checkpoint.load(trained_celeba.checkpoint)
    assert ckpt.prediction is not None
    assert ckpt.prediction["recipe"]["name"] == "celeba"
    assert ckpt.prediction["recipe"]["config"]["shift_jitter"] == 0.2
    assert ckpt.prediction["input"]["normalisation"] == {"mean": 127.5, "std": 127.5}
    assert ckpt.prediction["input"]["codec"] == {"format": "jpg", "quality": 95}
    relations = ckpt.prediction["calibration"]["relations"]
    assert relations["annotated"]["faces"] == 240 and relations["haar"]["faces"] >= 5
    # the synthetic head box is about three times the landmark extent
    assert 0.25 < relations["annotated"]["sx"] < 0.45


def test_crops_from_true_landmarks_are_the_test_samples_byte_for_byte(
    trained_celeba: TrainedCeleba, predictor: Predictor
) -> None:
    records = {r.key: r for r in _test_records(trained_celeba)}
    shards = sorted((trained_celeba.data / "test").glob("*.tar"))
    seen = 0
    for sample in (s for path in shards for s in iter_samples(path)):
        doc = json.loads(sample.get("json") or b"{}")
        record = records[doc["source"]["record"]]
        image = SourceImage.read(trained_celeba.root / record.image)
        params, crop = predictor.crop(image, np.asarray(record.landmarks, np.float64), record.bbox)
        np.testing.assert_array_equal(params.matrix()[:2], np.asarray(doc["transform"]))
        np.testing.assert_array_equal(crop, imageio.decode(sample.get("jpg") or b"").pixels)
        seen += 1
    assert seen == len(records) == 30


def test_ground_truth_boxes_give_the_nme_of_evaluate_on_shards(
    trained_celeba: TrainedCeleba, predictor: Predictor
) -> None:
    shards = evaluate_checkpoint(trained_celeba.data, trained_celeba.checkpoint, "test", start(), workers=0)
    sources = evaluate_sources(predictor, "celeba", trained_celeba.root, "test", "truth", 3)
    third = sources.reports[2]
    assert third["count"] == shards.overall.count == 30 and third["unpredicted"] == 0
    assert abs(third["nme"] - shards.overall.nme) <= 0.10 * shards.overall.nme, (third, shards.overall)
    # the same path from the landmark extent: the shard's crops exactly, the shard's NME
    oracle = [
        _nme(predictor, r, predictor.refine(SourceImage.read(trained_celeba.root / r.image),
                                            extent(np.asarray(r.landmarks, np.float64)), LANDMARKS,
                                            iterations=1).landmarks)
        for r in _test_records(trained_celeba)
    ]
    assert float(np.mean(oracle)) == pytest.approx(shards.overall.nme, rel=1e-4)


def test_refinement_recovers_from_a_box_shifted_by_15_percent(
    trained_celeba: TrainedCeleba, predictor: Predictor
) -> None:
    first, third = [], []
    for r in _test_records(trained_celeba):
        assert r.bbox is not None
        w, h = box_size(r.bbox)
        box = (r.bbox[0] + 0.15 * w, r.bbox[1] + 0.15 * h, r.bbox[2] + 0.15 * w, r.bbox[3] + 0.15 * h)
        image = SourceImage.read(trained_celeba.root / r.image)
        face = predictor.refine(image, box, ANNOTATED, iterations=3, tolerance=0.0)
        assert face.iterations == 3 and len(face.shifts) == 2
        first.append(_nme(predictor, r, face.passes[0].landmarks))
        third.append(_nme(predictor, r, face.landmarks))
    assert np.mean(third) < 0.8 * np.mean(first), (np.mean(first), np.mean(third))


def test_tolerance_stops_refinement_early(trained_celeba: TrainedCeleba, predictor: Predictor) -> None:
    r = _test_records(trained_celeba)[0]
    assert r.bbox is not None
    image = SourceImage.read(trained_celeba.root / r.image)
    loose = predictor.refine(image, r.bbox, ANNOTATED, iterations=6, tolerance=1e6)
    assert loose.iterations == 2 and len(loose.shifts) == 1
    single = predictor.refine(image, r.bbox, ANNOTATED, iterations=1)
    assert single.iterations == 1 and single.shifts == []
    np.testing.assert_array_equal(single.landmarks, loose.passes[0].landmarks)


def test_evaluate_cli_prints_one_block_per_pass_and_lists_missed_faces(trained_celeba: TrainedCeleba) -> None:
    base = ["evaluate", "--dataset", "celeba", "--root", str(trained_celeba.root), "--split", "test",
            "--checkpoint", str(trained_celeba.checkpoint)]
    done = CliRunner().invoke(cli, [*base, "--boxes", "jitter", "--iterations", "2"])
    assert done.exit_code == 0, done.output
    assert "boxes jitter, 1 pass\n" in done.output and "boxes jitter, 2 passes\n" in done.output
    assert done.output.count("subset ") == 2
    done = CliRunner().invoke(cli, [*base, "--boxes", "detector", "--iterations", "1", "--json"])
    assert done.exit_code == 0, done.output
    doc = json.loads(done.output.strip().splitlines()[-1])
    report = doc["reports"][0]
    missed = [u["key"] for u in doc["unpredicted"]]
    assert report["count"] == 30 and report["unpredicted"] == len(missed)
    assert report["fr_010"] >= len(missed) / 30  # missed faces count as failures


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--split", "tset"),
         "expected records of split 'tset' in the celeba annotations, found: test, train, val"),
        (("--protocol", "300w"),
         "--protocol: expected no protocol for celeba (it has one way to split), found '300w'"),
    ],
)
def test_evaluate_from_sources_names_the_splits_and_protocols_there_are(
    trained_celeba: TrainedCeleba, extra: tuple[str, ...], message: str
) -> None:
    done = CliRunner().invoke(cli, ["evaluate", "--dataset", "celeba", "--root", str(trained_celeba.root),
                                    "--checkpoint", str(trained_celeba.checkpoint), *extra])
    assert done.exit_code == 2 and message in done.output and "Traceback" not in done.output, done.output


def _onnx(trained_celeba: TrainedCeleba, tmp_path: Path) -> Path:
    out = tmp_path / "model.onnx"
    done = CliRunner().invoke(cli, ["export", str(trained_celeba.checkpoint), "--onnx", str(out)])
    assert done.exit_code == 0, done.output
    return out


def test_onnx_predictor_matches_the_checkpoint(
    trained_celeba: TrainedCeleba, predictor: Predictor, tmp_path: Path
) -> None:
    onnx = Predictor.from_onnx(_onnx(trained_celeba, tmp_path), threads=1)
    assert onnx.meta.to_json() == predictor.meta.to_json()
    for r in _test_records(trained_celeba)[:5]:
        a = predictor.predict(trained_celeba.root / r.image, r.bbox)[0]
        b = onnx.predict(trained_celeba.root / r.image, r.bbox)[0]
        # the same first crop: the models agree to float precision; later crops may differ by a
        # JPEG-rounded pixel, so the refined points agree to well under a pixel
        np.testing.assert_allclose(a.passes[0].landmarks, b.passes[0].landmarks, atol=1e-3)
        np.testing.assert_allclose(a.landmarks, b.landmarks, atol=1.0)


def test_predict_with_onnx_imports_no_torch(trained_celeba: TrainedCeleba, tmp_path: Path) -> None:
    model = _onnx(trained_celeba, tmp_path)
    image = trained_celeba.root / _test_records(trained_celeba)[0].image
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from flmprep.cli import main\n"
        f"main([{str(image)!r}, '--onnx', {str(model)!r}, '--json', {str(tmp_path / 'o.jsonl')!r}])\n"
    )
    argv = [sys.executable, "-c", code.replace("main([", "main(['predict', ")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    lines = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert lines and all(validate.is_schema_valid("prediction", x) for x in lines)


def test_predict_cli_reports_bad_inputs_and_exit_codes(trained_celeba: TrainedCeleba, tmp_path: Path) -> None:
    records = _test_records(trained_celeba)
    good = str(trained_celeba.root / records[0].image)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(Path(good).read_bytes()[:600])
    blank = tmp_path / "blank.png"
    blank.write_bytes(imageio.encode(np.full((200, 200, 3), 128, np.uint8), "png"))
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({good: [list(records[0].bbox or ())]}))
    out, drawn = tmp_path / "p.jsonl", tmp_path / "drawn"
    args = ["predict", good, str(corrupt), str(blank), "--checkpoint", str(trained_celeba.checkpoint),
            "--boxes", str(boxes), "--detector", "haar", "--json", str(out), "--draw", str(drawn)]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 1, done.output
    assert f"skipped {corrupt}: truncated_image" in done.output
    assert f"skipped {blank}: no_face" in done.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert all(validate.is_schema_valid("prediction", x) for x in lines)
    faces = [x for x in lines if "face" in x]
    assert [x["image"] for x in faces] == [good] and faces[0]["box_source"] == "annotated"
    assert len(faces[0]["landmarks"]) == 5 and faces[0]["iterations"] == len(faces[0]["shifts"]) + 1
    assert sorted(p.name for p in drawn.iterdir()) == sorted(["blank.png", f"{Path(good).stem}.png"])
    missing = CliRunner().invoke(cli, ["predict", str(tmp_path / "nope.jpg"), "--checkpoint",
                                       str(trained_celeba.checkpoint)])
    assert missing.exit_code == 2
    assert "flmprep predict: error: " in missing.output
    assert "nope.jpg: expected an image file" in missing.output
    assert "Traceback" not in missing.output + done.output


def test_a_folder_takes_every_image_and_a_bad_boxes_file_is_one_line(
    trained_celeba: TrainedCeleba, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for r in _test_records(trained_celeba)[:3]:
        (folder / Path(r.image).name).write_bytes((trained_celeba.root / r.image).read_bytes())
    (folder / "notes.txt").write_text("not an image")
    done = CliRunner().invoke(cli, ["predict", str(folder), "--checkpoint", str(trained_celeba.checkpoint)])
    assert done.exit_code in (0, 1), done.output
    assert done.output.count("3 of 3 images") + done.output.count("of 3 images") >= 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"x.jpg": [[1, 2, 3]]}))
    done = CliRunner().invoke(cli, ["predict", str(folder), "--checkpoint", str(trained_celeba.checkpoint),
                                    "--boxes", str(bad)])
    assert done.exit_code == 2
    assert "x.jpg: expected a list of [left, top, right, bottom] boxes" in done.output


def test_an_old_checkpoint_names_what_it_lacks(trained_celeba: TrainedCeleba, tmp_path: Path) -> None:
    old = tmp_path / "old.pt"
    checkpoint.save(old, replace(checkpoint.load(trained_celeba.checkpoint), prediction=None))
    lacks = r"expected prediction metadata .*found no recipe, input, calibration"
    with pytest.raises(PredictError, match=lacks):
        Predictor.from_checkpoint(old)
    image = str(trained_celeba.root / _test_records(trained_celeba)[0].image)
    done = CliRunner().invoke(cli, ["predict", image, "--checkpoint", str(old)])
    assert done.exit_code == 2 and "found no recipe, input, calibration" in done.output


def test_haar_boxes_need_a_haar_calibration(trained_celeba: TrainedCeleba, tmp_path: Path) -> None:
    ckpt = checkpoint.load(trained_celeba.checkpoint)
    assert ckpt.prediction is not None
    prediction = json.loads(json.dumps(ckpt.prediction))
    del prediction["calibration"]["relations"]["haar"]
    path = tmp_path / "nohaar.pt"
    checkpoint.save(path, replace(ckpt, prediction=prediction))
    p = Predictor.from_checkpoint(path)
    with pytest.raises(InferenceError, match="--source-root"):
        p.meta.calibration.require(HAAR)
    done = CliRunner().invoke(cli, ["predict", str(trained_celeba.root), "--checkpoint", str(path)])
    assert done.exit_code == 2 and "expected a relation for Haar boxes" in done.output
