"""The audit log on SQL: append-only, hash-chained (tocsin.core.audit_chain).

An append locks the chain's head row (an UPDATE: a row lock on PostgreSQL, the write lock on
SQLite), reads it, inserts the records with their positions and hashes, and moves the head, all
in the appending transaction: appends from concurrent transactions wait for each other and form
one chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.sql.deferred import WriteQueue
from tocsin.adapters.storage.sql.driver import Driver, DriverStatement, DriverTable
from tocsin.adapters.storage.times import must
from tocsin.core.audit import AuditRecord
from tocsin.core.audit_chain import GENESIS, Head, Stored, extend

CHAIN = "audit"


class SqlAuditLog:
    """The AuditLog port in one transaction (appends deferred when given a queue)."""

    def __init__(self, conn: Connection, *, queue: WriteQueue | None = None) -> None:
        self.conn = conn
        self.queue = queue

    def append(self, records: Sequence[AuditRecord]) -> None:
        """Append records to the audit log (chained)."""
        if self.queue is not None:
            self.queue.defer(partial(self._insert, list(records)))
        else:
            self._insert(records)

    def _insert(self, records: Sequence[AuditRecord]) -> None:
        if not records:
            return
        head = lock_head(self.conn)
        links = extend(head, records)
        rows = [
            {**_row(r), "chain_seq": seq, "chain_hash": digest}
            for r, (seq, digest) in zip(records, links, strict=True)
        ]
        _TABLE.insert_rows(Driver(self.conn), rows)  # every audited change: on the driver
        seq, digest = links[-1]
        self.conn.execute(_MOVE, {"new_seq": seq, "new_head": digest})

    def trail(self, subject_type: str, subject_id: str) -> list[AuditRecord]:
        """One subject's trail, oldest first."""
        a = t.audit_log
        query = (
            select(a)
            .where(a.c.subject_type == subject_type, a.c.subject_id == subject_id)
            .order_by(a.c.id)
        )
        return [audit_record(r) for r in self.conn.execute(query).mappings()]

    def head(self) -> Head:
        """The chain's head as stored."""
        c = t.audit_chain
        row = self.conn.execute(select(c.c.seq, c.c.head).where(c.c.name == CHAIN)).first()
        return Head(int(row.seq), row.head) if row else Head()

    def moved(self, subject_type: str, *, after_id: int) -> tuple[int, bool]:
        """The newest record's id (0: none), and whether one about the subject type is newer
        than `after_id`: the primary key's last entry, and a range of either index that holds
        only what came after `after_id` (whichever the planner picks, never the whole log)."""
        ((top, found),) = Driver(self.conn).rows(_MOVED, [subject_type, after_id])
        return int(top or 0), bool(found)

    def stored(self, *, after_id: int = 0, limit: int = 10_000) -> list[Stored]:
        """Stored records with their chain positions and hashes, by row id."""
        a = t.audit_log
        query = select(a).where(a.c.id > after_id).order_by(a.c.id).limit(limit)
        return [
            Stored(int(r["id"]), r["chain_seq"], r["chain_hash"], audit_record(r))
            for r in self.conn.execute(query).mappings()
        ]


_c = t.audit_chain.c
# built once: an append runs them in every transaction that audits (each report group's)
_LOCK = (  # locks the row and reads it in one statement
    update(t.audit_chain).where(_c.name == CHAIN).values(seq=_c.seq).returning(_c.seq, _c.head)
)
_MOVE = (
    update(t.audit_chain)
    .where(_c.name == CHAIN)
    .values(seq=bindparam("new_seq"), head=bindparam("new_head"))
)
_TABLE = DriverTable(t.audit_log)
_MOVED = DriverStatement(
    "SELECT (SELECT max(id) FROM audit_log), "
    "EXISTS (SELECT 1 FROM audit_log WHERE subject_type = ? AND id > ?)"
)


def lock_head(conn: Connection) -> Head:
    """Lock the chain's head row for this transaction (creating it at the first append) and
    read it."""
    row = conn.execute(_LOCK).first()
    if row is None:
        conn.execute(insert(t.audit_chain), [{"name": CHAIN, "seq": 0, "head": GENESIS}])
        return Head(0, GENESIS)
    return Head(int(row.seq), row.head)


def _row(r: AuditRecord) -> dict[str, Any]:
    return {
        "at": r.at,
        "actor": r.actor,
        "kind": r.kind,
        "subject_type": r.subject_type,
        "subject_id": r.subject_id,
        "reason": r.reason,
        "details": dict(r.details),
    }


def audit_record(r: Mapping[Any, Any]) -> AuditRecord:
    """An audit record from its row."""
    return AuditRecord(
        must(r["at"]),
        r["actor"],
        r["kind"],
        r["subject_type"],
        r["subject_id"],
        r["reason"],
        r["details"],
    )
