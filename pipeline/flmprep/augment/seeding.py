"""Stable per-view seeds (blake2b, never Python's salted ``hash``) and cheap generators from them."""

from __future__ import annotations

import hashlib
import threading

import numpy as np

_MASK64 = (1 << 64) - 1
_local = threading.local()


def seed_for(build_seed: int, key: str, view: int) -> int:
    """The 64-bit seed of one view: blake2b of (build seed, record key, view index)."""
    if build_seed < 0 or view < 0:
        raise ValueError(f"seed_for: expected build_seed >= 0 and view >= 0, found {build_seed}, {view}")
    text = f"flmprep/1|{build_seed}|{key}|{view}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def rng_for(seed: int) -> np.random.Generator:
    """A PCG64 generator whose 128-bit state and increment are a blake2b hash of ``seed``.

    Setting the state of one generator is cheaper than making one per view with ``default_rng``
    (``benchmarks/bench_choices.py``); the generator object is reused per thread, so use it before
    asking for the next one.
    """
    digest = hashlib.blake2b((seed & _MASK64).to_bytes(8, "little"), digest_size=32).digest()
    state = int.from_bytes(digest[:16], "little")
    inc = int.from_bytes(digest[16:], "little") | 1
    cached = getattr(_local, "rng", None)
    if cached is None:
        bitgen = np.random.PCG64(0)
        cached = (bitgen, np.random.Generator(bitgen))
        _local.rng = cached
    bitgen, gen = cached
    bitgen.state = {
        "bit_generator": "PCG64",
        "state": {"state": state, "inc": inc},
        "has_uint32": 0,
        "uinteger": 0,
    }
    return gen
