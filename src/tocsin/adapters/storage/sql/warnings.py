"""Warnings on SQL: at most one open warning per fingerprint (a partial unique index)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.sql.lookups import rows_in
from tocsin.adapters.storage.sql.records import from_row, to_row
from tocsin.core.errors import Conflict
from tocsin.core.warnings.model import Warning, WarningId, WarningState


class SqlWarnings:
    """The WarningStore port in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, warning_id: str) -> Warning | None:
        """One warning by id."""
        w = t.warnings
        row = self.conn.execute(select(w).where(w.c.id == warning_id)).mappings().first()
        return from_row(Warning, row) if row else None

    def by_ids(self, ids: Sequence[str]) -> dict[str, Warning]:
        """Warnings by id."""
        w = t.warnings
        rows = rows_in(self.conn, select(w), column=w.c.id, keys=ids)
        return {r["id"]: from_row(Warning, r) for r in rows}

    def open_by_fingerprint(self, fingerprints: Sequence[str]) -> dict[str, Warning]:
        """Open warnings keyed by fingerprint."""
        if not fingerprints:
            return {}
        w = t.warnings
        query = select(w).where(w.c.state != WarningState.LIFTED.value)
        rows = rows_in(self.conn, query, column=w.c.fingerprint, keys=fingerprints)
        return {r["fingerprint"]: from_row(Warning, r) for r in rows}

    def open_in_regions(self, regions: Sequence[str]) -> list[Warning]:
        """Open warnings in any of the regions."""
        if not regions:
            return []
        w = t.warnings
        query = select(w).where(
            w.c.region.in_(list(dict.fromkeys(regions))), w.c.state != WarningState.LIFTED.value
        )
        return [from_row(Warning, r) for r in self.conn.execute(query).mappings()]

    def save(self, warnings: Sequence[Warning], *, new: bool) -> None:
        """Insert (new=True) or update warnings with one executemany."""
        if not warnings:
            return
        rows = [to_row(w) for w in warnings]
        try:
            if new:
                self.conn.execute(insert(t.warnings), rows)
            else:
                columns: dict[str, Any] = {k: bindparam(f"v_{k}") for k in rows[0] if k != "id"}
                stmt = update(t.warnings).where(t.warnings.c.id == bindparam("v_id"))
                self.conn.execute(
                    stmt.values(**columns), [{f"v_{k}": v for k, v in r.items()} for r in rows]
                )
        except IntegrityError as err:
            message = (
                f"warning {warnings[0].fingerprint} is already open"
                if len(warnings) == 1
                else "a warning with the same fingerprint is already open"
            )
            raise Conflict(message) from err

    def touch(self, last_seen: Mapping[WarningId, datetime]) -> None:
        """Move last_seen_at forward for open warnings."""
        if not last_seen:
            return
        w = t.warnings
        stmt = update(w).where(w.c.id == bindparam("wid")).values(last_seen_at=bindparam("seen"))
        self.conn.execute(stmt, [{"wid": k, "seen": v} for k, v in last_seen.items()])
