"""SqlStore: the foundation Store on SQLAlchemy Core, for SQLite and PostgreSQL alike.

A transaction is one database transaction; its session carries one repository per concept.
Writes happen as they are made (observations are held back and written together, see
observations.py) and commit together at the end, or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from tocsin.adapters.storage.dialects import DialectWriter
from tocsin.adapters.storage.engine import writer_for
from tocsin.adapters.storage.faults import faults_as_unavailable
from tocsin.adapters.storage.sql.audit import SqlAuditLog
from tocsin.adapters.storage.sql.cap_imports import SqlCapImports
from tocsin.adapters.storage.sql.catalog import SqlCatalog
from tocsin.adapters.storage.sql.checkpoints import SqlCheckpoints
from tocsin.adapters.storage.sql.credentials import SqlCredentials
from tocsin.adapters.storage.sql.deferred import WriteQueue
from tocsin.adapters.storage.sql.events import SqlEvents
from tocsin.adapters.storage.sql.exposure import SqlExposure
from tocsin.adapters.storage.sql.leases import SqlLeases
from tocsin.adapters.storage.sql.observations import SqlObservations
from tocsin.adapters.storage.sql.outbox import SqlOutbox
from tocsin.adapters.storage.sql.reports import SqlReports
from tocsin.adapters.storage.sql.retention import SqlRetention
from tocsin.adapters.storage.sql.users import SqlUsers
from tocsin.adapters.storage.sql.warning_search import SqlWarningSearch
from tocsin.adapters.storage.sql.warnings import SqlWarnings


@dataclass(frozen=True)
class SqlSession:
    """One transaction of the foundation store: one repository per concept."""

    observations: SqlObservations
    catalog: SqlCatalog
    checkpoints: SqlCheckpoints
    events: SqlEvents
    exposure: SqlExposure
    warnings: SqlWarnings
    warning_search: SqlWarningSearch
    audit: SqlAuditLog
    users: SqlUsers
    cap_imports: SqlCapImports
    leases: SqlLeases
    credentials: SqlCredentials
    retention: SqlRetention
    reports: SqlReports
    outbox: SqlOutbox  # reporters' updates, written with the step that causes them

    @classmethod
    def open(cls, conn: Connection, writer: DialectWriter, *, buffer_rows: int) -> SqlSession:
        """The repositories of one transaction on `conn`."""
        observations = SqlObservations(conn, writer, buffer_rows=buffer_rows)
        return cls(
            observations=observations,
            catalog=SqlCatalog(conn, writer),
            checkpoints=SqlCheckpoints(conn, writer, observations=observations),
            events=SqlEvents(conn),
            exposure=SqlExposure(conn),
            warnings=SqlWarnings(conn),
            warning_search=SqlWarningSearch(conn),
            audit=SqlAuditLog(conn),
            users=SqlUsers(conn),
            cap_imports=SqlCapImports(conn),
            leases=SqlLeases(conn, writer),
            credentials=SqlCredentials(conn),
            retention=SqlRetention(conn),
            reports=SqlReports(conn, writer),
            outbox=SqlOutbox(conn, writer, queue=WriteQueue()),
        )


class SqlStore:
    """Transactional storage over one SQLAlchemy engine."""

    def __init__(self, engine: Engine, *, write_buffer_rows: int = 5_000_000) -> None:
        self.engine = engine
        self.writer = writer_for(engine)
        self.write_buffer_rows = write_buffer_rows

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[SqlSession]:
        """A session; commits on success, rolls back on any exception. A fault of the database
        (full disk, read-only file, lost server) is raised as Unavailable."""
        with faults_as_unavailable(), self.engine.begin() as conn:
            session = SqlSession.open(conn, self.writer, buffer_rows=self.write_buffer_rows)
            yield session
            session.observations.finish()
            session.outbox.flush()
            session.leases.enforce()  # last: the fence holds until the commit
