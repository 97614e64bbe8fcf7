"""Options shared by several commands, each written once."""

from __future__ import annotations

import click

from flmprep.shards.reader import DEFAULT_MAX_MEMBER_BYTES

max_member_bytes_option = click.option(
    "--max-member-bytes",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_MEMBER_BYTES,
    show_default=True,
    help="Refuse tar members larger than this.",
)
