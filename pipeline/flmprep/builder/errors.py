"""Errors that stop a build, each naming the record, file or shard at fault."""

from __future__ import annotations

from flmprep.errors import FlmprepError
from flmprep.records import Reject


class BuildError(FlmprepError):
    """A build cannot go on (``--on-error fail`` met a bad record, or OUT is unusable)."""

    def __init__(self, message: str, reject: Reject | None = None) -> None:
        super().__init__(message)
        self.reject = reject

    @classmethod
    def from_reject(cls, reject: Reject) -> BuildError:
        where = f" ({reject.origin})" if reject.origin else ""
        return cls(f"record {reject.key}{where}: {reject.reason}: {reject.message} "
                   "(--on-error fail; use --on-error skip to list it in rejects.jsonl)", reject)
