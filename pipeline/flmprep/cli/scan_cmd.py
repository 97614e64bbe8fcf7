"""``flmprep scan DATASET ROOT``: parse a dataset's native annotations and summarise them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import click

from flmprep.atomic import atomic_output
from flmprep.cli.errors import GuardedCommand
from flmprep.formats import DATASETS, OnError, resolve_protocol
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
@click.option(
    "--protocol",
    type=click.Choice(sorted({p for info in DATASETS.values() for p in info.protocols})),
    default=None,
    help="How to split, for datasets that know several ways: 300w: dlib (its two files, the "
    "default) or 300w (the standard train / test_common / test_challenge sets).",
)
def scan(
    dataset: str, root: Path, as_json: bool, records: Path | None, on_error: str, protocol: str | None
) -> None:
    """Parse DATASET's native annotations unpacked at ROOT; print images, faces and rejects per split."""
    mode: OnError = "fail" if on_error == "fail" else "skip"
    resolve_protocol(dataset, protocol)  # refuse a wrong one before reading anything
    if records is None:
        summary = scan_dataset(dataset, root, on_error=mode, protocol=protocol)
    else:
        with atomic_output(records) as raw:  # written whole, or not at all
            out = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
            summary = scan_dataset(dataset, root, on_error=mode, records_out=out, protocol=protocol)
            out.flush()
            out.detach()
    if as_json:
        click.echo(json.dumps(summary.to_json(), indent=2))
    else:
        click.echo(format_summary(summary))
