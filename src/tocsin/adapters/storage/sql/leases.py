"""Leases on SQL: compare-and-set claims, and the fence checked inside the committing
transaction.

The fence must hold from the check to the commit. On SQLite the check is a no-op UPDATE of the
lease row, which takes the database's write lock (or runs under it, when the transaction wrote
already), so no takeover can commit in between. On PostgreSQL it is `SELECT … FOR SHARE`: a
takeover's UPDATE of that row waits for this commit, and a takeover committed before the check
is seen by it (READ COMMITTED re-reads the newest row version). The writer chosen per database
does it (`DialectWriter.hold_lease`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, RowMapping, delete, select, update

from tocsin.adapters.storage.dialects import DialectWriter
from tocsin.adapters.storage.lease_tables import leases
from tocsin.adapters.storage.sql.deferred import WriteQueue
from tocsin.core.errors import NotOwner
from tocsin.core.leases import Holder, Lease

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _moment(micros: int) -> datetime:
    return datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)


def lease_row(lease: Lease) -> dict[str, object]:
    """The row of a lease."""
    return {
        "name": lease.name,
        "holder": lease.holder.id,
        "address": lease.holder.address,
        "token": lease.token,
        "expires_us": _micros(lease.expires_at),
    }


class SqlLeases:
    """The LeaseStore port in one transaction of the foundation store."""

    def __init__(self, conn: Connection, writer: DialectWriter) -> None:
        self.conn = conn
        self.writer = writer
        self.fences: list[tuple[str, Lease | None]] = []

    def current(self, name: str) -> Lease | None:
        """The stored lease `name`."""
        row = self.conn.execute(select(leases).where(leases.c.name == name)).mappings().first()
        return None if row is None else _lease(row)

    def named(self, prefix: str) -> list[Lease]:
        """The stored leases whose names start with `prefix`, by name."""
        query = (
            select(leases)
            .where(leases.c.name.startswith(prefix, autoescape=True))
            .order_by(leases.c.name)
        )
        return [_lease(row) for row in self.conn.execute(query).mappings()]

    def remove_expired(self, prefix: str, *, before: datetime) -> int:
        """Delete the named leases that expired before `before`."""
        stmt = delete(leases).where(
            leases.c.name.startswith(prefix, autoescape=True),
            leases.c.expires_us < _micros(before),
        )
        return int(self.conn.execute(stmt).rowcount or 0)

    def replace(self, lease: Lease, *, expected: Lease | None) -> bool:
        """Compare-and-set: insert when none is expected, else update the expected row."""
        row = lease_row(lease)
        if expected is None:
            stmt = self.writer.insert(leases).values(**row).on_conflict_do_nothing()
            return self.conn.execute(stmt.returning(leases.c.name)).first() is not None
        old = lease_row(expected)
        stmt = (
            update(leases)
            .where(*(leases.c[k] == old[k] for k in ("name", "holder", "token", "expires_us")))
            .values(**row)
        )
        return bool(self.conn.execute(stmt).rowcount == 1)

    def fence(self, name: str, lease: Lease | None) -> None:
        """Checked by `enforce` just before the transaction commits."""
        self.fences.append((name, lease))

    def enforce(self) -> None:
        """Check every fence of this transaction (it still holds its writes)."""
        for name, lease in self.fences:
            hold(self.conn, self.writer, name, lease)
        self.fences.clear()


def _lease(row: RowMapping) -> Lease:
    holder = Holder(row["holder"], row["address"])
    return Lease(row["name"], holder, int(row["token"]), _moment(int(row["expires_us"])))


class SqlLeaseFence:
    """The LeaseFence port in one pipeline session: the check joins its deferred writes."""

    def __init__(self, conn: Connection, writer: DialectWriter, *, queue: WriteQueue) -> None:
        self.conn = conn
        self.writer = writer
        self.queue = queue

    def fence(self, name: str, lease: Lease | None) -> None:
        """A session that writes nothing needs no fence; one that writes checks it inside its
        write transaction (called after the session's other writes were made)."""
        if self.queue.has_writes:
            self.queue.defer(lambda: hold(self.conn, self.writer, name, lease))


def hold(conn: Connection, writer: DialectWriter, name: str, lease: Lease | None) -> None:
    """Hold lease `name` as `lease` until this transaction ends, or raise NotOwner."""
    if lease is None:
        raise NotOwner(f"this process does not hold the {name} lease; nothing was stored")
    if not writer.hold_lease(conn, name=name, holder=lease.holder.id, token=lease.token):
        raise NotOwner(
            f"this process lost the {name} lease (token {lease.token}) to another; "
            "nothing was stored"
        )
