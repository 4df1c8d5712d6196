"""Audit trail commands: verify the hash chain, print its head for anchoring.

The database and the services are imported inside the commands (see `tocsin.cli.main`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from tocsin.cli.common import DbOption, console, errors, group, reported, settings

if TYPE_CHECKING:
    from tocsin.services.audit import AuditService


@contextmanager
def _audit(db: str | None) -> Iterator[AuditService]:
    """The audit service over the database (which must exist), closed afterwards."""
    from tocsin.bootstrap import open_stores
    from tocsin.services.audit import AuditService

    stores = open_stores(settings(db).database_url, create=False)
    try:
        yield AuditService(stores.store)
    finally:
        stores.close()


audit_app = group("The audit trail: verify its hash chain, export its head.")


@audit_app.command("verify")
def audit_verify(db: DbOption = None) -> None:
    """Check every audit record against the hash chain; name the first one altered, deleted
    or reordered (exit 1), or print the verified head (exit 0)."""
    with reported(), _audit(db) as service:
        done = service.verify()
    found = done.finding
    if found is not None:
        where = f"record {found.record_id}" if found.record_id is not None else "a record"
        errors.print(
            f"error: the audit trail was tampered with: {where} {found.tamper.value} at chain "
            f"position {found.seq} ({found.detail}); {done.records} records read",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    console.print(
        f"ok: {done.records} records, chained to head {done.head.seq}:{done.head.hash}",
        markup=False,
        soft_wrap=True,
    )


@audit_app.command("head")
def audit_head(db: DbOption = None) -> None:
    """Print the chain's head as JSON (position and hash) to anchor it elsewhere."""
    with reported(), _audit(db) as service:
        head = service.head()
    console.print(json.dumps({"seq": head.seq, "hash": head.hash}), markup=False)
