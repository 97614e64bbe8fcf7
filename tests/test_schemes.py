"""Landmark schemes: permutations, names, groups, NME normalisers, and the real dlib mirror pair."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flmprep.errors import FlipUnsupportedError
from flmprep.formats._common import ReadContext
from flmprep.formats.dlib_xml import read_xml
from flmprep.records import ReadReport
from flmprep.schemes import SCHEME_NAMES, get_scheme, scheme_for_points

EXCERPTS = Path(__file__).parent / "data" / "real-excerpts"
FLIPPABLE = ("celeba5", "ibug68", "wflw98")


@pytest.mark.parametrize("name", SCHEME_NAMES)
def test_scheme_tables_are_consistent(name: str) -> None:
    scheme = get_scheme(name)
    assert scheme.name == name
    assert len(scheme.names) == scheme.num_points == len(set(scheme.names))
    grouped = sorted(i for idx in scheme.groups.values() for i in idx)
    assert grouped == list(range(scheme.num_points)), "groups partition the points"
    assert not set(scheme.left) & set(scheme.right)
    assert scheme_for_points(scheme.num_points) is scheme


@pytest.mark.parametrize("name", FLIPPABLE)
def test_flip_permutation_is_an_involution(name: str) -> None:
    perm = get_scheme(name).flip_indices()
    assert sorted(perm.tolist()) == list(range(len(perm)))
    assert (perm[perm] == np.arange(len(perm))).all()


@pytest.mark.parametrize("name", FLIPPABLE)
def test_flip_swaps_image_left_and_right(name: str) -> None:
    scheme = get_scheme(name)
    perm = scheme.flip_indices()
    assert sorted(perm[list(scheme.left)].tolist()) == sorted(scheme.right)
    for group, idx in scheme.groups.items():
        mirrored = group.replace("left", "\0").replace("right", "left").replace("\0", "right")
        assert sorted(perm[list(idx)].tolist()) == sorted(scheme.groups[mirrored]), group


@pytest.mark.parametrize("name", FLIPPABLE)
def test_flip_permutation_matches_the_researched_table(name: str) -> None:
    table = json.loads((EXCERPTS / "flip_permutations.json").read_text("utf-8"))
    assert list(get_scheme(name).flip_permutation or ()) == table[name]["perm"]


def test_wflw98_matches_pfld_mirror_file() -> None:
    pfld = (EXCERPTS / "wflw_Mirror98.pfld.txt").read_text("ascii").strip().split(",")
    assert list(get_scheme("wflw98").flip_permutation or ()) == [int(i) for i in pfld]


def test_helen194_refuses_a_flip_with_a_clear_error() -> None:
    scheme = get_scheme("helen194")
    assert not scheme.can_flip
    with pytest.raises(FlipUnsupportedError, match=r"helen194.*no known flip permutation"):
        scheme.flip_indices()


@pytest.mark.parametrize(("name", "a", "b"), [("ibug68", 36, 45), ("wflw98", 60, 72), ("celeba5", 0, 1)])
def test_nme_normaliser_is_the_published_point_pair(name: str, a: int, b: int) -> None:
    scheme = get_scheme(name)
    gt = np.zeros((scheme.num_points, 2), np.float32)
    gt[a], gt[b] = (10.0, 20.0), (13.0, 24.0)
    assert (scheme.nme.kind, scheme.nme.a, scheme.nme.b) == ("points", a, b)
    assert scheme.nme(gt) == pytest.approx(5.0)


def test_helen194_nme_is_the_landmark_box_size() -> None:
    gt = np.zeros((194, 2), np.float32)
    gt[0], gt[1] = (0.0, 0.0), (16.0, 4.0)
    assert get_scheme("helen194").nme(gt) == pytest.approx(8.0)


def test_unknown_scheme_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="celeba5, ibug68, wflw98, helen194"):
        get_scheme("aflw19")


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(FLIPPABLE),
    width=st.integers(1, 4000),
    seed=st.integers(0, 2**32 - 1),
)
def test_flip_twice_is_identity(name: str, width: int, seed: int) -> None:
    perm = get_scheme(name).flip_indices()
    # quarter pixels are exact in binary, so the round trip must be bit-exact
    pts = np.random.default_rng(seed).integers(-200, 4 * width + 200, (len(perm), 2)) / 4.0
    once = _flip(pts, perm, width)
    assert np.array_equal(_flip(once, perm, width), pts)


def _flip(pts: np.ndarray, perm: np.ndarray, width: int) -> np.ndarray:
    out = pts[perm].copy()
    out[:, 0] = width - 1 - out[:, 0]
    return out


def test_ibug68_flip_reproduces_the_real_dlib_mirror(tmp_path: Path) -> None:
    head = (EXCERPTS / "dlib_labels_ibug_300W_test.head.xml").read_bytes()
    mirror = (EXCERPTS / "dlib_labels_ibug_300W_test.mirror_of_first_image.xml").read_bytes()
    xml = tmp_path / "labels_ibug_300W_test.xml"
    xml.write_bytes(head + mirror + b"</images>\n</dataset>")
    ctx = ReadContext(tmp_path, "300w", "ibug68", ReadReport(), "fail")
    records = {r.image: r for r in read_xml(ctx, xml, "test")}
    original = records["helen/trainset/146827737_1.jpg"]
    twin = records["helen/trainset/146827737_1_mirror.jpg"]
    assert original.width == twin.width == 640
    flipped = _flip(original.landmarks.astype(np.float64), get_scheme("ibug68").flip_indices(), 640)
    assert np.array_equal(flipped, twin.landmarks)
    assert original.bbox is not None and twin.bbox is not None
    box_w = original.bbox[2] - original.bbox[0] + 1
    assert twin.bbox[0] == 640 - original.bbox[0] - box_w
    assert twin.bbox[1] == original.bbox[1]


def _real_faces() -> dict[str, np.ndarray]:
    """The first real 300W test face and the first real WFLW test record, as [K, 2] arrays."""
    head = (EXCERPTS / "dlib_labels_ibug_300W_test.head.xml").read_text("latin-1")
    first_box = head.split("<box ", 1)[1].split("</box>", 1)[0]
    ibug = [
        (float(part.split("x='")[1].split("'")[0]), float(part.split("y='")[1].split("'")[0]))
        for part in first_box.split("<part ")[1:]
    ]
    tokens = (EXCERPTS / "wflw_list_98pt_rect_attr_test.line1.quoted_in_doc.txt").read_text().split()
    wflw = np.asarray(tokens[:196], dtype=np.float64).reshape(98, 2)
    return {"ibug68": np.asarray(ibug), "wflw98": wflw}


@pytest.mark.parametrize("name", ["ibug68", "wflw98"])
def test_sides_are_image_left_and_right_on_real_faces(name: str) -> None:
    """Every 'left' point lies left of its flip partner on a real, roughly frontal face."""
    points = _real_faces()[name]
    scheme = get_scheme(name)
    assert len(points) == scheme.num_points
    perm = scheme.flip_indices()
    wrong = [i for i in scheme.left if not points[i, 0] < points[perm[i], 0]]
    assert wrong == []
    assert {int(perm[i]) for i in scheme.left} == set(scheme.right)
