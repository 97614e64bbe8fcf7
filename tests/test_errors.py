"""Errors keep their location and message across process boundaries (pickle)."""

from __future__ import annotations

import pickle

from flmprep.errors import AnnotationError


def test_annotation_error_survives_pickle() -> None:
    err = AnnotationError("Anno/list.txt", 12, "11 tokens", "10 tokens", reason="bad_annotation", key="k_f0")
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, AnnotationError)
    assert str(back) == str(err) == "Anno/list.txt: line 12: expected 11 tokens, found 10 tokens"
    assert (back.reason, back.key, back.origin) == ("bad_annotation", "k_f0", "Anno/list.txt:12")
