"""An audit trail at the command line (a warning's history, an incident's timeline): one step
a record, when, what and who on its first line, then why, indented, on its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tocsin.cli.common import console

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tocsin.core.audit import AuditRecord


def print_trail(records: Iterable[AuditRecord], *, kind_width: int) -> None:
    """The records in the order given, their kinds padded to `kind_width` so the actors align."""
    for r in records:
        console.print(
            f"{r.at:%Y-%m-%d %H:%M:%S}  {r.kind:<{kind_width}} {r.actor}\n    {r.reason}",
            markup=False,
            soft_wrap=True,
        )
