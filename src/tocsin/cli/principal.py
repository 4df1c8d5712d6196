"""The operator at the command line: whoever runs `tocsin` holds the database, so the commands
read (and act, where no `--by NAME` says who) as this one principal."""

from __future__ import annotations

from tocsin.core.access import system_principal

SYSTEM = system_principal("cli")
