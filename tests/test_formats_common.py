"""Shared reader plumbing: record keys, safe image paths, number parsing, the registry."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flmprep.errors import AnnotationError
from flmprep.formats import DATASETS, read_dataset, scheme_of
from flmprep.formats._common import parse_floats, parse_ints, record_key
from flmprep.formats._paths import PathGuard


def test_record_key_examples() -> None:
    assert record_key("celeba", "000123.jpg", 0) == "celeba_000123_f0"
    assert record_key("300w", "helen/trainset/146827737_1.jpg", 0) == "300w_helen_trainset_146827737_1_f0"
    assert record_key("wflw", "37--Soccer/a.b.jpg", 2) == "wflw_37--Soccer_a_b_f2"


@settings(max_examples=60, deadline=None)
@given(name=st.text(min_size=1, max_size=40), face=st.integers(0, 99))
def test_record_keys_never_hold_a_dot(name: str, face: int) -> None:
    key = record_key("300w", name, face)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", key) and key.endswith(f"_f{face}")


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "..", ".", "", "c.jpg"]), min_size=1, max_size=6))
def test_path_guard_never_returns_a_path_outside(
    tmp_path_factory: pytest.TempPathFactory, parts: list[str]
) -> None:
    guard = PathGuard(tmp_path_factory.getbasetemp())
    rel = "/".join(parts)
    norm = posixpath.normpath(rel) if rel else ""
    bad = not rel or rel.startswith("/") or norm in (".", "..") or norm.startswith("../")
    try:
        checked = guard.check(rel, "ann.txt", 1)
    except AnnotationError as err:
        assert bad, err
        assert err.reason == ("bad_annotation" if norm in ("", ".") else "path_outside_root")
        return
    assert not bad and checked == norm


def test_number_parsing_is_strict() -> None:
    assert parse_ints(["12", "-3", "+4"], "f", 1, "value") == [12, -3, 4]
    assert parse_floats(["1.5", "-2e3"], "f", 1, "x") == [1.5, -2000.0]
    for bad in (["1_000"], ["٣"], ["1.0"]):
        with pytest.raises(AnnotationError, match=f"f: line 1: expected an integer value, found '{bad[0]}'"):
            parse_ints(bad, "f", 1, "value")
    with pytest.raises(AnnotationError, match=r"expected a number for x, found '1_0\.5'"):
        parse_floats(["2", "1_0.5"], "f", 1, "x")


def test_registry_names_datasets_and_schemes(tmp_path: Path) -> None:
    assert {scheme_of(d) for d in DATASETS} == {"celeba5", "ibug68", "wflw98", "helen194"}
    with pytest.raises(KeyError, match="unknown dataset 'afw'"):
        read_dataset("afw", tmp_path)
