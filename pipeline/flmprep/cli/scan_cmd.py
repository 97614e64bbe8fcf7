"""``flmprep scan DATASET ROOT``: parse a dataset's native annotations and summarise them."""

from __future__ import annotations

import json
from pathlib import Path

import click

from flmprep.cli.errors import GuardedCommand
from flmprep.formats import DATASETS, OnError
from flmprep.scan import format_summary
from flmprep.scan import scan as scan_dataset


@click.command("scan", cls=GuardedCommand)
@click.argument("dataset", type=click.Choice(sorted(DATASETS)))
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--records",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every parsed record to this file as JSON lines.",
)
@click.option(
    "--on-error",
    type=click.Choice(["skip", "fail"]),
    default="skip",
    show_default=True,
    help="skip: count malformed annotations as rejects; fail: stop at the first one.",
)
def scan(dataset: str, root: Path, as_json: bool, records: Path | None, on_error: str) -> None:
    """Parse DATASET's native annotations unpacked at ROOT; print images, faces and rejects per split."""
    mode: OnError = "fail" if on_error == "fail" else "skip"
    if records is None:
        summary = scan_dataset(dataset, root, on_error=mode)
    else:
        with records.open("w", encoding="utf-8") as out:
            summary = scan_dataset(dataset, root, on_error=mode, records_out=out)
    if as_json:
        click.echo(json.dumps(summary.to_json(), indent=2))
    else:
        click.echo(format_summary(summary))
