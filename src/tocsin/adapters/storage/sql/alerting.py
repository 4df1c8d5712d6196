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
from tocsin.adapters.storage.faults import faults_as_unavailable
from tocsin.adapters.storage.sql.audit import SqlAuditLog
from tocsin.adapters.storage.sql.deferred import WriteQueue
from tocsin.adapters.storage.sql.escalations import SqlEscalations
from tocsin.adapters.storage.sql.feed import Gaps, SqlWarningFeed
from tocsin.adapters.storage.sql.groups import SqlGroups
from tocsin.adapters.storage.sql.incidents import SqlIncidents
from tocsin.adapters.storage.sql.leases import SqlLeaseFence
from tocsin.adapters.storage.sql.outbox import SqlOutbox, claim, due_query
from tocsin.adapters.storage.sql.public_alerts import SqlPublicAlerts
from tocsin.adapters.storage.sql.records import from_row
from tocsin.adapters.storage.sql.response_trail import SqlResponseTrail
from tocsin.adapters.storage.sql.silences import SqlSilences
from tocsin.adapters.storage.sql.situation_reports import SqlSituationReports
from tocsin.adapters.storage.sql.tasks import SqlTasks
from tocsin.adapters.storage.sql.warnings import SqlWarnings
from tocsin.core.warnings.outbox import Notification

CAP_FEED = "public_alerts"  # the feed position of public alerts following warnings
RESPONSE_FEED = "response"  # the response's own position in the warning transitions


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
    leases: SqlLeaseFence
    outbox: SqlOutbox = field(repr=False)
    public_alerts: SqlPublicAlerts = field(repr=False)
    cap_feed: SqlWarningFeed = field(repr=False)
    # the response (incidents, tasks) reads and writes in the same kind of session
    response_feed: SqlWarningFeed = field(repr=False)
    incidents: SqlIncidents = field(repr=False)
    tasks: SqlTasks = field(repr=False)
    response_trail: SqlResponseTrail = field(repr=False)
    situation_reports: SqlSituationReports = field(repr=False)

    @classmethod
    def open(
        cls,
        conn: Connection,
        writer: DialectWriter,
        *,
        gaps: Gaps,
        cap_gaps: Gaps,
        response_gaps: Gaps,
    ) -> SqlAlertingSession:
        """The repositories of one session on `conn`."""
        queue = WriteQueue()
        return cls(
            queue=queue,
            feed=SqlWarningFeed(conn, writer, gaps=gaps, queue=queue),
            warnings=SqlWarnings(conn),
            audit=SqlAuditLog(conn, queue=queue),
            groups=SqlGroups(conn, queue=queue),
            escalations=SqlEscalations(conn, writer, queue=queue),
            silences=SqlSilences(conn, queue=queue),
            leases=SqlLeaseFence(conn, writer, queue=queue),
            outbox=SqlOutbox(conn, writer, queue=queue),
            public_alerts=SqlPublicAlerts(conn, queue=queue),
            cap_feed=SqlWarningFeed(conn, writer, gaps=cap_gaps, queue=queue, name=CAP_FEED),
            response_feed=SqlWarningFeed(
                conn, writer, gaps=response_gaps, queue=queue, name=RESPONSE_FEED
            ),
            incidents=SqlIncidents(conn, queue=queue),
            tasks=SqlTasks(conn, queue=queue),
            response_trail=SqlResponseTrail(conn),
            situation_reports=SqlSituationReports(conn, writer, queue=queue),
        )


class SqlAlertingStore:
    """Transactional storage of the warning pipeline over one engine."""

    def __init__(self, engine: Engine) -> None:
        self.writer = writer_for(engine)
        self.engine = self.writer.pipeline_engine(engine)
        self.gate = self.writer.write_gate()  # this process's pipeline writers, one at a time
        self.gaps = Gaps()
        self.cap_gaps = Gaps()  # the public alerts' own position in the feed
        self.response_gaps = Gaps()

    @contextmanager
    def transaction(self) -> Iterator[SqlAlertingSession]:
        """A session: reads as it goes, then all its writes in one short transaction."""
        with faults_as_unavailable(), self.engine.connect() as conn:
            session = SqlAlertingSession.open(
                conn,
                self.writer,
                gaps=self.gaps,
                cap_gaps=self.cap_gaps,
                response_gaps=self.response_gaps,
            )
            try:
                yield session
                if session.queue.has_writes:
                    with self.gate:  # one thread of the process waits for the lock at a time
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
        with faults_as_unavailable(), self.engine.connect() as conn:
            with self.gate:
                locked = self.writer.lock_due(conn, query)
            due = [from_row(Notification, r) for r in locked]
            claimed = claim(conn, due, now=now, until=until)
            conn.commit()
        return claimed
