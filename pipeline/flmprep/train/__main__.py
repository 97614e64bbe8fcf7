"""``torchrun --nproc_per_node=N -m flmprep.train --data OUT --model M | --preset P [options]``: one rank
per process."""

from __future__ import annotations

import logging
import os
from typing import Any

import click

from flmprep.cli.errors import GuardedCommand
from flmprep.train.config import explicit_options, from_options, train_options


@click.command(cls=GuardedCommand, prog="flmprep.train",
               context_settings={"help_option_names": ["-h", "--help"]})
@train_options
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int, **kwargs: Any) -> None:
    """Train a landmark model on built shards (a rank of a torchrun job, or a single process).
    Rank 0 prints one line per epoch (with a progress bar on a terminal); the other ranks log only
    with -v. Errors are one line per rank, as under ``flmprep train``."""
    rank = os.environ.get("RANK", "0")
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format=f"%(levelname)s rank{rank} %(name)s: %(message)s")
    from flmprep.train.loop import run

    run(from_options(explicit_options(click.get_current_context()), **kwargs), click.echo)


if __name__ == "__main__":
    main()
