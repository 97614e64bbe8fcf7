"""Property: random byte-level mutations of a valid annotation file never make a reader raise
anything but ``FlmprepError`` subclasses (``AnnotationError`` for bad input), under both
``on_error`` modes; every message is one bounded line and every reject has a known reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flmprep.errors import FlmprepError
from flmprep.formats import read_dataset
from flmprep.records import ReadReport
from flmprep.synth import synthesize

# the annotation files of a 2-3 image synthetic tree that a mutation may hit
TARGETS = {
    "celeba": ["Anno/list_landmarks_celeba.txt", "Anno/list_bbox_celeba.txt", "Eval/list_eval_partition.txt"],
    "celeba-aligned": ["Anno/list_landmarks_align_celeba.txt", "Eval/list_eval_partition.txt"],
    "300w": ["labels_ibug_300W_train.xml", "labels_ibug_300W_test.xml"],
    "wflw": ["WFLW_annotations/list_98pt_rect_attr_train_test/list_98pt_rect_attr_train.txt"],
    "helen": ["annotation/1.txt", "trainnames.txt", "testnames.txt"],
    "pts": ["trainset/image_0001.pts"],
}
REASONS = {
    "bad_annotation",
    "path_outside_root",
    "missing_image",
    "nonfinite_landmarks",
    "split_missing",
}
# bytes that parsers care about
SPICE = [
    b"\x00",
    b"\r",
    b"\n",
    b"\xff",
    b"\xc3",
    b" ",
    b"-",
    b",",
    b"9" * 45,
    b"9" * 400,
    b"&x;",
    b"<",
    b"'",
    b"\xef\xbb\xbf",
    b"nan",
    b"1e39",
    b"..",
    b"/",
    b"\\",
    b"\t",
    b"}",
    b"{",
]

# what a whole field may become: values beyond float32/float64/int() limits, non-numbers
NUMBERS = [
    b"9" * 400,
    b"9" * 40,
    b"9" * 5000,
    b"nan",
    b"inf",
    b"-inf",
    b"1e39",
    b"-1",
    b"",
    b"1_0",
    b"0x1f",
    b"\xd9\xa3",
]

position = st.floats(0.0, 1.0)
mutation = st.one_of(
    st.tuples(
        st.just("insert"), position, st.one_of(st.binary(min_size=1, max_size=6), st.sampled_from(SPICE))
    ),
    st.tuples(st.just("delete"), position, st.integers(1, 24)),
    st.tuples(st.just("flip"), position, st.integers(0, 7)),
    st.tuples(st.just("replace"), position, st.sampled_from(SPICE)),
    st.tuples(st.just("truncate"), position, st.just(0)),
    st.tuples(st.just("token"), position, st.sampled_from(NUMBERS)),
)
_SEPARATORS = b" \t\r\n',\"=<>/"


def mutate(data: bytes, ops: list[tuple[str, float, object]]) -> bytes:
    buf = bytearray(data)
    for op, where, arg in ops:
        at = min(int(where * len(buf)), max(len(buf) - 1, 0))
        if op == "insert":
            assert isinstance(arg, bytes)
            buf[at:at] = arg
        elif op == "delete":
            assert isinstance(arg, int)
            del buf[at : at + arg]
        elif op == "flip" and buf:
            assert isinstance(arg, int)
            buf[at] ^= 1 << arg
        elif op == "replace" and buf:
            assert isinstance(arg, bytes)
            buf[at : at + len(arg)] = arg
        elif op == "truncate":
            del buf[at:]
        elif op == "token" and buf:  # a whole field (a number, a name) becomes ``arg``
            assert isinstance(arg, bytes)
            start, end = at, at
            while start > 0 and buf[start - 1] not in _SEPARATORS:
                start -= 1
            while end < len(buf) and buf[end] not in _SEPARATORS:
                end += 1
            buf[start:end] = arg
    return bytes(buf)


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("fuzz")
    return {ds: synthesize(ds, base / ds, n=3, seed=2, max_faces=2).root for ds in TARGETS}


def _read_all(dataset: str, root: Path) -> Iterator[str]:
    """Read under both modes; yield every message produced (errors and rejects)."""
    for mode in ("fail", "skip"):
        report = ReadReport()
        try:
            list(read_dataset(dataset, root, on_error=mode, report=report))
        except FlmprepError as err:  # the documented failure; anything else fails the test
            yield str(err)
        for reject in report.rejects:
            assert reject.reason in REASONS, reject
            yield reject.message


@pytest.mark.parametrize("dataset", list(TARGETS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_files_raise_only_documented_errors(
    trees: dict[str, Path], dataset: str, data: st.DataObject
) -> None:
    root = trees[dataset]
    rel = data.draw(st.sampled_from(TARGETS[dataset]), label="file")
    ops = data.draw(st.lists(mutation, min_size=1, max_size=4), label="mutations")
    path = root / rel
    original = path.read_bytes()
    try:
        path.write_bytes(mutate(original, ops))
        for message in _read_all(dataset, root):
            assert "\n" not in message and len(message) < 1500, message
    finally:
        path.write_bytes(original)


def test_the_unmutated_trees_read_cleanly(trees: dict[str, Path]) -> None:
    for dataset, root in trees.items():
        report = ReadReport()
        assert list(read_dataset(dataset, root, report=report)) and not report.rejects, dataset


def test_mutate_is_a_real_mutation() -> None:
    assert mutate(b"abcdef", [("insert", 0.5, b"X")]) == b"abcXdef"
    assert mutate(b"abcdef", [("delete", 0.0, 2)]) == b"cdef"
    assert mutate(b"abc", [("flip", 0.0, 0)]) == b"`bc"
    assert mutate(b"abcdef", [("truncate", 0.5, 0)]) == b"abc"
    assert mutate(b"abcdef", [("replace", 0.99, b"\x00")]) == b"abcde\x00"
    assert mutate(b"x='12' y='3'", [("token", 0.3, b"nan")]) == b"x='nan' y='3'"
