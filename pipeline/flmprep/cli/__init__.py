"""The ``flmprep`` command: a click group whose subcommands load lazily (no torch at start-up)."""

from __future__ import annotations

import importlib
import logging

import click

from flmprep import __version__
from flmprep.cli.errors import Guarded, exit_table

# command name -> ("module:attribute", one-line help); each module holds its click command.
COMMANDS: dict[str, tuple[str, str]] = {
    "scan": ("flmprep.cli.scan_cmd:scan", "Parse a dataset's native annotations and summarise them."),
    "synth": ("flmprep.cli.synth_cmd:synth", "Write a synthetic dataset in a native layout."),
    "preview": ("flmprep.cli.preview_cmd:preview", "Contact sheet of augmented views of a dataset."),
    "build": ("flmprep.cli.build_cmd:build", "Build WebDataset shards with a local process pool."),
    "inspect": ("flmprep.cli.inspect_cmd:inspect_cmd", "Summarise, list, render and validate a shard."),
    "verify": ("flmprep.cli.verify_cmd:verify", "Check a built dataset against its manifest."),
    "train": ("flmprep.cli.train_cmd:train", "Train a landmark model on built shards."),
    "evaluate": ("flmprep.cli.train_cmd:evaluate", "Evaluate a checkpoint: NME, failure rate, AUC."),
    "export": ("flmprep.cli.export_data_cmd:export_cmd",
               "Export a built dataset to COCO/mmpose, LitData or MDS."),
    "models": ("flmprep.cli.models_cmd:models", "List the landmark models: input, points, parameters, seed."),
}


class LazyGroup(Guarded, click.Group):
    """A group that imports a subcommand's module only when that subcommand runs; errors of every
    subcommand go through ``Guarded`` (one line, one exit-code table)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr = entry[0].split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=exit_table())
@click.version_option(__version__, prog_name="flmprep")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Facial-landmark data preparation: native readers, exact augmentation, WebDataset shards."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
