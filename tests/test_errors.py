"""Errors keep their location and message across process boundaries (pickle)."""

from __future__ import annotations

import pickle

from hypothesis import given
from hypothesis import strategies as st

from flmprep.errors import AnnotationError


def test_annotation_error_survives_pickle() -> None:
    err = AnnotationError("Anno/list.txt", 12, "11 tokens", "10 tokens", reason="bad_annotation", key="k_f0")
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, AnnotationError)
    assert str(back) == str(err) == "Anno/list.txt: line 12: expected 11 tokens, found 10 tokens"
    assert (back.reason, back.key, back.origin) == ("bad_annotation", "k_f0", "Anno/list.txt:12")


@given(name=st.text(min_size=1, max_size=5000))
def test_a_value_named_in_what_was_expected_keeps_the_message_one_bounded_line(name: str) -> None:
    """A reader may name an input value in ``expected`` (HELEN: "NAME in trainnames.txt or
    testnames.txt"); the message stays one line of bounded length whatever the value holds."""
    expected = f"{name!r} in trainnames.txt or testnames.txt"
    err = AnnotationError("helen/annotation/1.txt", 1, expected, "neither", reason="split_missing")
    message = str(err)
    assert "\n" not in message and len(message) < 1500
    assert message.startswith("helen/annotation/1.txt: line 1: expected ")
    assert message.endswith(", found neither")
    assert err.expected.startswith(repr(name))  # the full value stays on the error
