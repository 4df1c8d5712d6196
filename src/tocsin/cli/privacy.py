"""Secrets and personal data: a new sealing key; the retention job.

The database and the services are imported inside the commands (see `tocsin.cli.main`).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tocsin.cli.common import DbOption, console, group, open_container, reported

keys_app = group("The key that encrypts receiver credentials and personal data.")
retention_app = group("Retention: delete personal data past its period (docs/data.md).")


@keys_app.command("new")
def keys_new() -> None:
    """Print a new key for TOCSIN_SECRET_KEY (keep it outside the database and its backups)."""
    from tocsin.adapters.storage.sealing import new_key

    console.print(new_key(), markup=False)


@retention_app.command("run")
def retention_run(
    db: DbOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what is past its period; delete nothing")
    ] = False,
) -> None:
    """Delete what is past its retention period (notifications, sign-ins and tokens, events),
    and summarise or delete observations past theirs (docs/retention.md); print the counts as
    JSON."""
    with reported():
        container = open_container(db)
        done = container.retention.run(dry_run=dry_run)
    console.print(json.dumps(done.as_json()), markup=False)
