"""The `tocsin` command line: one Typer app, sub-commands registered from their own modules."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="tocsin",
    help="Tocsin: all-hazards risk monitoring and early warning.",
    no_args_is_help=True,
    add_completion=False,
)

# Sub-command modules register themselves below, one line each (keep this list sorted).
