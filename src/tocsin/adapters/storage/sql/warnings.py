"""Warnings on SQL: at most one open warning per fingerprint (a partial unique index)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.sql.driver import Driver, DriverStatement, DriverTable
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
        """Warnings by id (on the driver: each follower of the warning feed reads the warnings
        of every transition it takes)."""
        if not ids:
            return {}
        rows = _TABLE.read(Driver(self.conn), "id IN", (), keys=ids)
        return {r["id"]: from_row(Warning, r) for r in rows}

    def open_by_fingerprint(self, fingerprints: Sequence[str]) -> dict[str, Warning]:
        """Open warnings keyed by fingerprint (on the driver: every signal and every cluster of
        public reports reads them)."""
        if not fingerprints:
            return {}
        rows = _TABLE.read(Driver(self.conn), _OPEN_AND + "fingerprint IN", (), keys=fingerprints)
        return {r["fingerprint"]: from_row(Warning, r) for r in rows}

    def open_in_regions(self, regions: Sequence[str]) -> list[Warning]:
        """Open warnings in any of the regions (on the driver: the dispatcher reads them for
        every batch it routes). Past `WHOLE_TABLE` regions (a warning over a nation asks for
        its every cell) the open warnings are read once and sorted out here, not looked up by
        hundreds of IN lists."""
        if not regions:
            return []
        drv = Driver(self.conn)
        wanted = set(regions)
        if len(wanted) <= WHOLE_TABLE:
            rows = _TABLE.read(drv, _OPEN_AND + "region IN", (), keys=sorted(wanted))
        else:
            rows = [r for r in _TABLE.read(drv, _OPEN, ()) if r["region"] in wanted]
        return [from_row(Warning, r) for r in rows]

    def save(self, warnings: Sequence[Warning], *, new: bool) -> None:
        """Insert (new=True) or update warnings with one executemany."""
        if not warnings:
            return
        rows = [to_row(w) for w in warnings]
        drv = Driver(self.conn)  # every raised or changed warning comes here: on the driver
        try:
            if new:
                _TABLE.insert_rows(drv, rows)
            else:
                drv.run_many(_UPDATE, [_TABLE.values(drv, r, _UPDATED) for r in rows])
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


_TABLE = DriverTable(t.warnings)
_OPEN = f"state != '{WarningState.LIFTED.value}'"  # an enum's value: a plain word
_OPEN_AND = _OPEN + " AND "
WHOLE_TABLE = 2_000  # regions past which open_in_regions reads every open warning
_UPDATED = (*(n for n in _TABLE.names if n != "id"), "id")  # SET every column but the key
_UPDATE = DriverStatement(
    "UPDATE warnings SET "  # noqa: S608 - the table's own columns
    + ", ".join(f"{n} = {_TABLE.marker(n)}" for n in _UPDATED[:-1])
    + " WHERE id = ?"
)
