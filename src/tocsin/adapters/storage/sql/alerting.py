"""SqlAlertingStore: the warning pipeline's store on SQLAlchemy Core (SQLite and PostgreSQL).

A session reads as it goes and performs all its writes together when it ends, in one
transaction (deferred.py). Reads inside a session do not see its own pending writes, except
group membership, which is overlaid in memory. Where the databases differ (SQLite's single
writer lock, PostgreSQL's out-of-order sequence visibility and row locks), the writer chosen
once per engine decides (../sqlite_writer.py, ../postgres_writer.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine

from tocsin.adapters.storage.dialects import DialectWriter
from tocsin.adapters.storage.engine import writer_for
from tocsin.adapters.storage.sql.audit import SqlAuditLog
from tocsin.adapters.storage.sql.deferred import WriteQueue
from tocsin.adapters.storage.sql.escalations import SqlEscalations
from tocsin.adapters.storage.sql.feed import Gaps, SqlWarningFeed
from tocsin.adapters.storage.sql.groups import SqlGroups
from tocsin.adapters.storage.sql.outbox import SqlOutbox, claim, due_query
from tocsin.adapters.storage.sql.records import from_row
from tocsin.adapters.storage.sql.silences import SqlSilences
from tocsin.adapters.storage.sql.warnings import SqlWarnings
from tocsin.core.warnings.outbox import Notification


@dataclass(frozen=True)
class SqlAlertingSession:
    """One pipeline session: one repository per concept, writes deferred to its end."""

    queue: WriteQueue
    feed: SqlWarningFeed
    warnings: SqlWarnings
    audit: SqlAuditLog
    groups: SqlGroups
    escalations: SqlEscalations
    silences: SqlSilences
    outbox: SqlOutbox = field(repr=False)

    @classmethod
    def open(cls, conn: Connection, writer: DialectWriter, *, gaps: Gaps) -> SqlAlertingSession:
        """The repositories of one session on `conn`."""
        queue = WriteQueue()
        return cls(
            queue=queue,
            feed=SqlWarningFeed(conn, writer, gaps=gaps, queue=queue),
            warnings=SqlWarnings(conn),
            audit=SqlAuditLog(conn, queue=queue),
            groups=SqlGroups(conn, writer, queue=queue),
            escalations=SqlEscalations(conn, writer, queue=queue),
            silences=SqlSilences(conn, queue=queue),
            outbox=SqlOutbox(conn, writer, queue=queue),
        )


class SqlAlertingStore:
    """Transactional storage of the warning pipeline over one engine."""

    def __init__(self, engine: Engine) -> None:
        self.writer = writer_for(engine)
        self.engine = self.writer.pipeline_engine(engine)
        self.gaps = Gaps()

    @contextmanager
    def transaction(self) -> Iterator[SqlAlertingSession]:
        """A session: reads as it goes, then all its writes in one short transaction."""
        with self.engine.connect() as conn:
            session = SqlAlertingSession.open(conn, self.writer, gaps=self.gaps)
            try:
                yield session
                if session.queue.has_writes:
                    self.writer.begin_writes(conn)
                    session.queue.flush()
                conn.commit()
            except BaseException:
                conn.rollback()
                raise

    def claim_notifications(
        self, now: datetime, *, until: datetime, limit: int, channels: Sequence[str] | None = None
    ) -> list[Notification]:
        """Claim due notifications for one worker (atomically; safe with several workers)."""
        query = due_query(now, limit=limit, channels=channels)
        with self.engine.connect() as conn:
            due = [from_row(Notification, r) for r in self.writer.lock_due(conn, query)]
            claimed = claim(conn, due, now=now, until=until)
            conn.commit()
        return claimed
