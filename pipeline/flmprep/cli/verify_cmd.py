"""``flmprep verify OUT``: check a built dataset against its manifest, one problem per line.

Exit status: 0 when everything checks out, 1 on any problem, 2 when the manifest is unreadable.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from flmprep.cli.errors import EXIT_INPUT, GuardedCommand, fail
from flmprep.cli.options import max_member_bytes_option
from flmprep.shards.reader import Limits
from flmprep.verify import ManifestError, verify_output


@click.command("verify", cls=GuardedCommand)
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--quick", is_flag=True, help="Skip per-sample checks (files, hashes, counts, sidecars only).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@max_member_bytes_option
def verify(out: Path, quick: bool, as_json: bool, max_member_bytes: int) -> None:
    """Check OUT against OUT/manifest.json: shards, sha256, sizes, counts, sidecars, samples.

    Exit status: 0 all good, 1 any problem, 2 no readable manifest (see `flmprep --help`).
    """
    try:
        report = verify_output(out, limits=Limits(max_member_bytes=max_member_bytes), samples=not quick)
    except ManifestError as e:
        fail("flmprep verify", str(e), EXIT_INPUT)
    if as_json:
        click.echo(json.dumps(report.to_json(), sort_keys=True))
    else:
        for warning in report.warnings:
            click.echo(f"warning: {warning}", err=True)
        for problem in report.problems:
            click.echo(f"PROBLEM {out / problem.path}: {problem.message}")
        state = "OK" if report.ok else f"FAILED: {len(report.problems)} problem(s)"
        click.echo(f"{state}: {report.shards} shards, {report.samples:,} samples checked in {out}")
    sys.exit(0 if report.ok else 1)
