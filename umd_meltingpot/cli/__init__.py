"""The `umd` command line: the outermost layer, which parses flags and
delegates to training, evaluation and the game (`commands.py`)."""

from umd_meltingpot.cli.commands import main

__all__ = ["main"]
