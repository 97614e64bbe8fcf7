"""dlib 300W XML reader on real dlib files and on malformed variants."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from flmprep.errors import AnnotationError
from flmprep.formats import read_dataset
from flmprep.records import ReadReport

DATA = Path(__file__).parent / "data"
EXCERPTS = DATA / "real-excerpts"
HEADER = "<?xml version='1.0' encoding='ISO-8859-1'?>\n<dataset>\n<images>\n"


def _parts(x0: int = 10, y0: int = 20, names: list[str] | None = None) -> str:
    names = names if names is not None else [f"{i:02d}" for i in range(68)]
    return "".join(f"<part name='{n}' x='{x0 + i}' y='{y0 + 2 * i}'/>\n" for i, n in enumerate(names))


def _box(parts: str, extra: str = "", left: int = 5) -> str:
    return f"<box top='7' left='{left}' width='40' height='50'{extra}>\n{parts}</box>\n"


def _write(root: Path, images: str, name: str = "labels_ibug_300W_train.xml") -> Path:
    path = root / name
    path.write_text(HEADER + images + "</images>\n</dataset>", "latin-1")
    return path


def _read(root: Path, on_error: str = "fail") -> tuple[list, ReadReport]:
    report = ReadReport()
    return list(read_dataset("300w", root, on_error=on_error, report=report)), report  # type: ignore[arg-type]


def test_real_dlib_faces_are_a_dataset_root() -> None:
    records, report = _read(DATA / "dlib-faces")
    assert [r.split for r in records].count("train") == 18
    assert [r.split for r in records].count("test") == 25
    assert len({r.image for r in records if r.split == "train"}) == 4
    assert len({r.image for r in records if r.split == "test"}) == 5
    assert not report.rejects and report.counters["ignored_boxes"] == 0
    first = records[0]
    assert (first.key, first.image, first.face) == ("300w_2007_007763_f0", "2007_007763.jpg", 0)
    assert (first.width, first.height) == (500, 375)
    assert first.bbox == (194.0, 90.0, 230.0, 126.0)  # top=90 left=194 width=37 height=37
    assert first.landmarks.dtype == np.float32 and first.landmarks.shape == (68, 2)
    assert first.landmarks[:2].tolist() == [[201.0, 107.0], [201.0, 110.0]]
    assert all((DATA / "dlib-faces" / r.image).is_file() for r in records)
    faces = [r.face for r in records if r.image == "2007_007763.jpg"]
    assert faces == list(range(len(faces))) and len(faces) > 1


def test_real_300w_excerpts_with_negative_box(tmp_path: Path) -> None:
    head = (EXCERPTS / "dlib_labels_ibug_300W_test.head.xml").read_bytes()
    negative = (EXCERPTS / "dlib_labels_ibug_300W_test.negative_box_example.xml").read_bytes()
    tail = (EXCERPTS / "dlib_labels_ibug_300W_test.tail.xml").read_bytes()  # last image, no final newline
    (tmp_path / "labels_ibug_300W_test.xml").write_bytes(head + negative + tail)
    records, _ = _read(tmp_path)
    assert [r.split for r in records] == ["test"] * 4
    assert records[3].image == "lfpw/trainset/image_0854_mirror.jpg"
    assert (records[3].width, records[3].height) == (425, 315)
    assert records[3].landmarks[[0, 67]].tolist() == [[270.0, 90.0], [318.0, 140.0]]
    assert records[0].key == "300w_helen_trainset_146827737_1_f0"
    assert records[0].landmarks[0].tolist() == [145.0, 355.0]
    assert records[0].bbox == (70.0, 224.0, 364.0, 518.0)
    assert records[2].bbox == (-68.0, 229.0, 427.0, 675.0)
    assert records[2].landmarks[0].tolist() == [37.0, 390.0]


def test_ignored_boxes_are_skipped_counted_and_not_numbered(tmp_path: Path) -> None:
    ignored = _box("", " ignore='1'")
    images = f"<image file='a.jpg'>\n{_box(_parts(), left=1)}{ignored}{_box(_parts(), left=2)}</image>\n"
    _write(tmp_path, images)
    records, report = _read(tmp_path)
    assert [(r.face, r.bbox[0] if r.bbox else None) for r in records] == [(0, 1.0), (1, 2.0)]
    assert report.counters["ignored_boxes"] == 1
    assert records[0].width is None and records[0].height is None


def test_parts_are_ordered_by_name(tmp_path: Path) -> None:
    names = [f"{i:02d}" for i in reversed(range(68))]
    _write(tmp_path, f"<image file='a.jpg'>\n{_box(_parts(names=names))}</image>\n")
    (record,), _ = _read(tmp_path)
    assert record.landmarks[67].tolist() == [10.0, 20.0]
    assert record.landmarks[0].tolist() == [77.0, 154.0]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ([f"{i:02d}" for i in range(67)], r"expected 68 parts 00…67, found 67, missing 67"),
        ([f"{i:02d}" for i in range(67)] + ["05"], r"<part name='05'>.*expected each part name once"),
        (
            [f"{i:02d}" for i in range(68)] + ["68"],
            r"<part name='68'>.*expected a part name 00…67, found '68'",
        ),
    ],
    ids=["missing", "duplicate", "extra"],
)
def test_bad_parts_are_errors(tmp_path: Path, names: list[str], message: str) -> None:
    path = _write(tmp_path, f"<image file='a.jpg'>\n{_box(_parts(names=names))}</image>\n")
    with pytest.raises(AnnotationError, match=message) as info:
        _read(tmp_path)
    assert str(info.value).startswith(f"{path}: line ")


def test_non_numeric_coordinate_names_the_part(tmp_path: Path) -> None:
    parts = _parts().replace("x='13'", "x='1e'")
    _write(tmp_path, f"<image file='a.jpg'>\n{_box(parts)}</image>\n")
    with pytest.raises(
        AnnotationError,
        match=r"line 9 <part name='03'> in line 5 <box> 0 of image 'a\.jpg': "
        r"expected an integer part coordinate, found '1e'",
    ):
        _read(tmp_path)


def test_skip_mode_rejects_one_box_and_keeps_the_rest(tmp_path: Path) -> None:
    bad = _parts(names=[f"{i:02d}" for i in range(60)])
    _write(
        tmp_path,
        f"<image file='a.jpg'>\n{_box(bad)}{_box(_parts())}</image>\n"
        f"<image file='b.jpg'>\n{_box(_parts())}</image>\n",
    )
    records, report = _read(tmp_path, "skip")
    assert [(r.image, r.face) for r in records] == [("a.jpg", 1), ("b.jpg", 0)]
    (reject,) = report.rejects
    assert (reject.reason, reject.split) == ("bad_annotation", "train")
    assert "missing 60" in reject.message


@pytest.mark.parametrize("file", ["../outside.jpg", "/etc/passwd", "a/../../x.jpg", "C:\\faces\\x.jpg"])
def test_image_path_leaving_the_root_is_an_error(tmp_path: Path, file: str) -> None:
    _write(tmp_path, f"<image file='{file}'>\n{_box(_parts())}</image>\n")
    with pytest.raises(AnnotationError, match="expected an image path") as info:
        _read(tmp_path)
    assert info.value.reason == "path_outside_root"
    records, report = _read(tmp_path, "skip")
    assert not records and report.rejects[0].reason == "path_outside_root"


def test_symlink_out_of_the_root_is_an_error(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (outside / "x.jpg").write_bytes(b"")
    (root / "link.jpg").symlink_to(outside / "x.jpg")
    (root / "dir").symlink_to(outside)
    (root / "inside.jpg").write_bytes(b"")
    (root / "ok.jpg").symlink_to(root / "inside.jpg")
    boxes = _box(_parts())
    images = "".join(f"<image file='{f}'>\n{boxes}</image>\n" for f in ("link.jpg", "dir/x.jpg", "ok.jpg"))
    _write(root, images)
    records, report = _read(root, "skip")
    assert [r.image for r in records] == ["ok.jpg"]
    assert [r.reason for r in report.rejects] == ["path_outside_root"] * 2
    assert "symlink that resolves outside" in report.rejects[0].message


BOMB = """<?xml version="1.0"?>
<!DOCTYPE dataset [
 <!ENTITY a "aaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
]>
<dataset><images><image file='&c;.jpg'><box top='1' left='1' width='2' height='2'/></image>
</images></dataset>"""


@pytest.mark.parametrize(
    "text",
    [BOMB, '<?xml version="1.0"?>\n<!-- c -->\n<!DOCTYPE d SYSTEM "http://example.com/x.dtd">\n<dataset/>'],
    ids=["entity-bomb", "external-dtd"],
)
def test_doctype_is_refused_before_parsing(tmp_path: Path, text: str) -> None:
    (tmp_path / "labels_ibug_300W_test.xml").write_text(text)
    with pytest.raises(AnnotationError, match=r"line (2|3): expected no DOCTYPE or DTD"):
        _read(tmp_path, "skip")


def test_truncated_xml_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "labels_ibug_300W_test.xml"
    path.write_text(HEADER + f"<image file='a.jpg'>\n{_box(_parts())}")
    with pytest.raises(AnnotationError, match="expected well-formed XML"):
        _read(tmp_path, "skip")


def test_wrong_nesting_and_missing_attributes(tmp_path: Path) -> None:
    (tmp_path / "labels_ibug_300W_test.xml").write_text("<data><images/></data>")
    with pytest.raises(AnnotationError, match="expected root element <dataset>, found <data>"):
        _read(tmp_path)
    _write(tmp_path, f"<image>\n{_box(_parts())}</image>\n", "labels_ibug_300W_test.xml")
    with pytest.raises(AnnotationError, match="expected a 'file' attribute"):
        _read(tmp_path)
    _write(
        tmp_path,
        f"<image file='a.jpg'>\n<box top='1' left='1' width='2'>{_parts()}</box></image>\n",
        "labels_ibug_300W_test.xml",
    )
    with pytest.raises(
        AnnotationError, match="expected attributes top, left, width, height, found no 'height'"
    ):
        _read(tmp_path)


def test_split_by_file_name_and_duplicate_keys(tmp_path: Path) -> None:
    image = f"<image file='a.jpg' width='64' height='80'>\n{_box(_parts())}</image>\n"
    _write(tmp_path, image, "labels_ibug_300W_test.xml")
    records, _ = _read(tmp_path)
    assert [(r.split, r.width, r.height) for r in records] == [("test", 64, 80)]
    _write(tmp_path, image, "labels_ibug_300W_train.xml")
    with pytest.raises(AnnotationError, match="expected a record key not used before, found '300w_a_f0'"):
        _read(tmp_path)


def test_no_known_xml_is_an_error(tmp_path: Path) -> None:
    shutil.copy(DATA / "dlib-faces" / "2007_007763.jpg", tmp_path)
    with pytest.raises(AnnotationError, match=r"labels_ibug_300W_train\.xml"):
        _read(tmp_path)


def test_key_collision_raises_even_when_skipping(tmp_path: Path) -> None:
    image = f"<image file='a.jpg'>\n{_box(_parts())}</image>\n"
    _write(tmp_path, image + image)
    message = r"line 77: expected a record key not used before, found '300w_a_f0'"
    with pytest.raises(AnnotationError, match=message):
        _read(tmp_path, "skip")
