"""Engines, migrations and the one choice of database-specific writer, for SQLite (WAL) and
PostgreSQL."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

from tocsin.adapters.storage.dialects import DialectWriter
from tocsin.adapters.storage.json_columns import json_loads
from tocsin.adapters.storage.postgres_writer import PostgresWriter
from tocsin.adapters.storage.sqlite_writer import SqliteWriter

MIGRATIONS = Path(__file__).parent / "migrations"
# SQLite connections are cheap to keep and dear to open (each runs the pragmas below): keep as
# many as a server's worker threads use at once (anyio's 40), so a burst of requests reuses
# them rather than opening and closing one per request beyond the pool
SQLITE_POOL = 40
SQLITE_OVERFLOW = 24
WAL_WAIT_S = 30.0  # the switch to WAL waits as long as a statement does (the timeout below)
# PostgreSQL plans every execution with the values it is given. psycopg prepares a statement
# run five times, and after five more the server may keep one generic plan for all values,
# costed from the statistics of that moment and blind to the values: a bound such as `id > ?`
# or a time window no longer tells it which index is narrow. Seen in bench/reports.py
# (pg_stat_statements, auto_explain): the reports' nearby read walked every report of its time
# window (13.8 ms a statement of 16 reads, 0.9–1.9 ms planned with its values), and the feed
# watcher's look, twenty times a second, read every warning record by (subject_type,
# subject_id) instead of those above its id, a cost that grows with the audit log. Planning
# each execution costs about 5 µs of the server's time for a one-row insert.
POSTGRES_SESSION = ("SET plan_cache_mode = force_custom_plan",)
WRITERS: dict[str, type[SqliteWriter] | type[PostgresWriter]] = {
    "sqlite": SqliteWriter,
    "postgresql": PostgresWriter,
}


def make_engine(url: str) -> Engine:
    """An engine for a database URL; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=SQLITE_POOL,
            max_overflow=SQLITE_OVERFLOW,
            json_deserializer=json_loads,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, pool_pre_ping=True, json_deserializer=json_loads)
    event.listen(engine, "connect", _postgres_session)
    return engine


def _postgres_session(dbapi_connection: Any, _record: Any) -> None:
    """Each new connection's session settings (a SET rather than the startup packet's options,
    which a pooler in front of the server may refuse)."""
    for statement in POSTGRES_SESSION:
        dbapi_connection.execute(statement)
    dbapi_connection.commit()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    _wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-262144")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _wal(cursor: Any) -> None:
    """Switch the file to WAL (kept in the file, so once). The switch on a new file fails at
    once with "database is locked" when processes starting together open it (SQLite's busy
    handler does not wait for it): taken in turn, polled."""
    deadline = time.monotonic() + WAL_WAIT_S
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        writer_for(engine).exclusive(connection, "tocsin.migrate")  # processes starting together
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def writer_for(engine: Engine) -> DialectWriter:
    """The database-specific writer of an engine, chosen once (see dialects.py)."""
    return WRITERS[engine.dialect.name]()
