"""``flmprep synth``: native layouts byte by byte, reader round trips, determinism, the CLI."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from flmprep.cli import main
from flmprep.errors import ConfigError
from flmprep.formats import read_dataset
from flmprep.synth import DATASETS, SynthResult, synthesize

# n per dataset: enough images for every split, multi-face images and an ignore box
SIZES = {"celeba": 10, "celeba-aligned": 10, "300w": 14, "wflw": 12, "helen": 5, "pts": 6}
# the precision each format prints: integers, %f, %.2f, 1-based %f
PRINTED = {"celeba": 0.5, "celeba-aligned": 0.5, "300w": 0.5, "wflw": 5e-7, "helen": 5e-3, "pts": 5e-7}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SynthResult]:
    root = tmp_path_factory.mktemp("synth-datasets")
    return {ds: synthesize(ds, root / ds, n=SIZES[ds], seed=7) for ds in DATASETS}


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("dataset", DATASETS)
def test_reader_round_trip(made: dict[str, SynthResult], dataset: str) -> None:
    result = made[dataset]
    got = {r.key: r for r in read_dataset(dataset, result.root)}
    want = {r.key: r for r in result.records}
    assert sorted(got) == sorted(want)
    for key, rec in want.items():
        back = got[key]
        assert (back.split, back.image, back.face, back.scheme) == (
            rec.split,
            rec.image,
            rec.face,
            rec.scheme,
        )
        assert back.bbox == rec.bbox and back.attributes == rec.attributes, key
        # what the reader returns is what synth wrote (and drew), to float32
        np.testing.assert_array_equal(back.landmarks, rec.landmarks)
    for image in result.images:
        for face, index in zip(image.faces, range(len(image.faces)), strict=True):
            back = got[next(k for k, r in want.items() if r.image == image.path and r.face == index)]
            # ... and the synthesised floats within the format's printed precision (+ float32 rounding)
            tol = PRINTED[dataset] + np.abs(face.raw) * 2.0**-23
            assert (np.abs(back.landmarks - face.raw) <= tol).all()
    splits = {r.split for r in got.values()}
    assert splits == ({"train", "val", "test"} if dataset.startswith("celeba") else {"train", "test"})


@pytest.mark.parametrize("dataset", DATASETS)
def test_written_points_are_the_floats_rounded_to_printed_precision(
    made: dict[str, SynthResult], dataset: str
) -> None:
    for image in made[dataset].images:
        for face in image.faces:
            pts = face.landmarks
            assert np.abs(pts - face.raw).max() <= PRINTED[dataset] + 1e-9
            if PRINTED[dataset] == 0.5:
                assert np.array_equal(pts, np.rint(pts))
            else:
                digits = 2 if dataset == "helen" else 6
                offset = 1.0 if dataset == "pts" else 0.0
                assert all(float(f"{v + offset:.{digits}f}") - offset == v for v in pts.ravel())
            assert (
                (pts >= 0).all()
                and (pts[:, 0] <= image.width - 1).all()
                and (pts[:, 1] <= image.height - 1).all()
            )


@pytest.mark.parametrize("dataset", DATASETS)
def test_images_decode_at_their_recorded_size(made: dict[str, SynthResult], dataset: str) -> None:
    for image in made[dataset].images:
        pixels = cv2.imread(str(made[dataset].root / image.path), cv2.IMREAD_COLOR)
        assert pixels is not None and pixels.shape == (image.height, image.width, 3)
        if dataset == "celeba-aligned":
            assert (image.width, image.height) == (178, 218)


def test_celeba_bytes(made: dict[str, SynthResult]) -> None:
    root = made["celeba"].root
    lm = (root / "Anno/list_landmarks_celeba.txt").read_bytes()
    lines = lm.split(b"\r\n")
    assert lines[0] == b"10" and lines[-1] == b"" and b"\n" not in lm.replace(b"\r\n", b"")
    assert lines[1] == (
        b"lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y "
        b"leftmouth_x leftmouth_y rightmouth_x rightmouth_y"
    )
    assert re.fullmatch(rb"000001\.jpg \d+( {1,4}\d+){9}", lines[2])
    bbox = (root / "Anno/list_bbox_celeba.txt").read_bytes().split(b"\r\n")
    assert bbox[1] == b"image_id x_1 y_1 width height"
    assert re.fullmatch(rb"000001\.jpg +\d+ +\d+ +\d+ +\d+", bbox[2]) and len(bbox[2]) >= 10 + 6 + 12
    part = (root / "Eval/list_eval_partition.txt").read_bytes()
    assert part.startswith(b"000001.jpg 0\r\n") and part.endswith(b"000010.jpg 2\r\n")
    assert part.count(b" 1\r\n") == 1 and part.count(b" 2\r\n") == 1
    aligned = (made["celeba-aligned"].root / "Anno/list_landmarks_align_celeba.txt").read_bytes()
    assert aligned.split(b"\r\n")[0] == b"10"
    assert not (made["celeba-aligned"].root / "Anno/list_bbox_celeba.txt").exists()


def test_dlib_xml_bytes(made: dict[str, SynthResult]) -> None:
    result = made["300w"]
    text = (result.root / "labels_ibug_300W_train.xml").read_bytes().decode("ascii")
    assert text.startswith(
        "<?xml version='1.0' encoding='ISO-8859-1'?>\n"
        "<?xml-stylesheet type='text/xsl' href='image_metadata_stylesheet.xsl'?>\n<dataset>\n"
        "<name>iBUG face point dataset - training images</name>\n"
    )
    assert text.endswith("</images>\n</dataset>") and '"' not in text
    assert re.search(
        r"\n  <image file='[^']+' width='\d+' height='\d+'>\n    <box top='-?\d+' left='-?\d+' "
        r"width='\d+' height='\d+'>\n      <part name='00' x='\d+' y='\d+'/>\n",
        text,
    )
    assert "<part name='67'" in text and "<part name='68'" not in text
    both = text + (result.root / "labels_ibug_300W_test.xml").read_text("ascii")
    assert re.search(r"    <box top='\d+' left='\d+' width='\d+' height='\d+' ignore='1'/>\n", both)
    assert any(len(i.faces) > 1 for i in result.images) and any(i.ignored for i in result.images)


def test_wflw_bytes(made: dict[str, SynthResult]) -> None:
    root = made["wflw"].root / "WFLW_annotations/list_98pt_rect_attr_train_test"
    lines = (root / "list_98pt_rect_attr_train.txt").read_text("ascii").splitlines()
    lines += (root / "list_98pt_rect_attr_test.txt").read_text("ascii").splitlines()
    assert len(lines) == len(made["wflw"].records)
    for line in lines:
        tok = line.split(" ")
        assert len(tok) == 207
        assert all(re.fullmatch(r"\d+\.\d{6}", t) for t in tok[:196])
        assert all(re.fullmatch(r"-?\d+", t) for t in tok[196:200]) and set(tok[200:206]) <= {"0", "1"}
        assert re.fullmatch(r"\d+--[A-Za-z]+/[\w-]+\.jpg", tok[206])
        assert (made["wflw"].root / "WFLW_images" / tok[206]).is_file()
    paths = [line.rsplit(" ", 1)[1] for line in lines]
    assert len(set(paths)) < len(paths)  # several faces on one image


def test_helen_bytes(made: dict[str, SynthResult]) -> None:
    result = made["helen"]
    first = (result.root / "annotation/1.txt").read_bytes().split(b"\r\n")
    assert first[0] == Path(result.images[0].path).stem.encode()
    assert len(first) == 1 + 194 + 1 and first[-1] == b""
    assert all(re.fullmatch(rb"\d+\.\d\d , \d+\.\d\d", line) for line in first[1:-1])
    train = (result.root / "trainnames.txt").read_text("ascii").split()
    test = (result.root / "testnames.txt").read_text("ascii").split()
    assert len(train) + len(test) == 5 and test
    assert {Path(i.path).parts[0] for i in result.images} == {"helen_1", "helen_2"}


def test_pts_bytes(made: dict[str, SynthResult]) -> None:
    result = made["pts"]
    endings = set()
    for image in result.images:
        text = (result.root / image.path).with_suffix(".pts").read_text("ascii")
        assert text.startswith("version: 1\nn_points:  68\n{\n")
        body = text.split("{\n")[1].split("}")[0].splitlines()
        values = np.array([[float(v) for v in line.split(" ")] for line in body])
        np.testing.assert_allclose(values - 1.0, image.faces[0].landmarks, atol=1e-9)  # 1-based on disk
        endings.add(text.endswith("}\n"))
    assert endings == {True, False}
    assert {Path(i.path).parts[0] for i in result.images} == {"trainset", "testset"}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = synthesize("wflw", tmp_path / "a", n=4, seed=3)
    b = synthesize("wflw", tmp_path / "b", n=4, seed=3)
    c = synthesize("wflw", tmp_path / "c", n=4, seed=4)
    assert _tree(a.root) == _tree(b.root)
    assert _tree(a.root) != _tree(c.root)
    assert sorted(_tree(a.root)) == sorted(a.files)


def test_png_where_the_layout_allows(tmp_path: Path) -> None:
    result = synthesize("300w", tmp_path / "png", n=3, seed=1, image_format="png", max_faces=1)
    assert all(i.path.endswith(".png") for i in result.images)
    assert (result.root / result.images[0].path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(list(read_dataset("300w", result.root))) == 3
    with pytest.raises(
        ConfigError, match=r"expected one of jpg \(what its native layout allows\), found 'png'"
    ):
        synthesize("celeba", tmp_path / "celeba", n=3, seed=1, image_format="png")


def test_sparse_marks_only_far_apart_landmarks(tmp_path: Path) -> None:
    result = synthesize("helen", tmp_path / "sparse", n=2, seed=5, mark_radius=6.0, sparse_marks=True)
    for image in result.images:
        face = image.faces[0]
        drawn = face.landmarks[face.radii > 0]
        assert 10 < len(drawn) < 194 and set(np.unique(face.radii)) == {0.0, 6.0}
        gaps = np.linalg.norm(drawn[:, None] - drawn[None], axis=2) + np.eye(len(drawn)) * 1e9
        assert gaps.min() >= 15.0


def test_refuses_non_empty_out_unless_overwrite(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="--overwrite"):
        synthesize("pts", tmp_path, n=2, seed=0)
    assert (tmp_path / "keep.txt").exists()
    synthesize("pts", tmp_path, n=2, seed=0, overwrite=True)
    assert not (tmp_path / "keep.txt").exists()
    with pytest.raises(ConfigError, match="at least 3 images"):
        synthesize("celeba", tmp_path / "few", n=2, seed=0)


def test_cli_prints_what_it_wrote(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "pts"
    first = runner.invoke(main, ["synth", "pts", str(out), "--n", "3", "--seed", "1"])
    assert first.exit_code == 0, first.output
    assert "pts: 3 images, 3 faces" in first.output and "train" in first.output
    assert "wrote trainset/image_0001.pts" in first.output
    again = runner.invoke(main, ["synth", "pts", str(out), "--n", "3"])
    assert again.exit_code == 2 and "--overwrite" in again.output
    forced = runner.invoke(main, ["synth", "pts", str(out), "--n", "3", "--seed", "1", "--overwrite"])
    assert forced.exit_code == 0 and forced.output == first.output
