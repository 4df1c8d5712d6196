"""Statements run on the database driver's own cursor, for the few reads that run once per
request on a hot path (clustering a public report reads twice per report).

SQLAlchemy's work around one execution (the cached compiled form looked up, each bind value and
each result value processed, a result object built) cost about 40 µs on SQLite, twice what the
statement itself cost (`bench/reports.py`, py-spy). These statements are written once, in
portable SQL with `?` placeholders (turned into `%s` for psycopg), and their timestamps go
through the same SQLAlchemy type processors the tables use, so what they read and write is what
the rest of the adapter reads and writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, DateTime
from sqlalchemy.exc import DBAPIError, StatementError

from tocsin.adapters.storage.dialects import raw_connection
from tocsin.adapters.storage.times import must

_TIME = DateTime(timezone=True)


JSON_VALUE = "{json}"  # a JSON value's placeholder (PostgreSQL casts the text it is given)


class DriverStatement:
    """One statement's SQL in `?` style (`{json}` for a JSON value), and its text for each
    driver."""

    def __init__(self, sql: str) -> None:
        if "%" in sql:
            raise ValueError("a driver statement may not contain '%' (psycopg's marker)")
        self.sql = sql
        self._text: dict[str, str] = {}

    def text(self, dialect: str) -> str:
        """The SQL in the driver's placeholder style."""
        found = self._text.get(dialect)
        if found is None:
            if dialect == "sqlite":
                found = self.sql.replace(JSON_VALUE, "?")
            else:
                found = self.sql.replace("?", "%s").replace(JSON_VALUE, "CAST(%s AS JSON)")
            self._text[dialect] = found
        return found


_Processor = Callable[[Any], Any] | None
_processors: dict[str, tuple[_Processor, _Processor]] = {}


def _time_processors(conn: Connection) -> tuple[_Processor, _Processor]:
    """The dialect's bind and result processors of a timestamp column (found once)."""
    dialect = conn.dialect
    found = _processors.get(dialect.name)
    if found is None:
        impl = _TIME.dialect_impl(dialect)
        found = (impl.bind_processor(dialect), impl.result_processor(dialect, None))
        _processors[dialect.name] = found
    return found


class Driver:
    """A transaction's driver connection, with the dialect's timestamp conversions."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self.raw = raw_connection(conn)
        self._bind, self._result = _time_processors(conn)

    def time(self, value: datetime) -> Any:
        """A timestamp as the driver takes it (a string on SQLite, as SQLAlchemy writes it)."""
        return self._bind(value) if self._bind is not None else value

    def read_time(self, value: Any) -> datetime:
        """A timestamp read back, aware UTC."""
        return must(self._result(value) if self._result is not None else value)

    def time_or_none(self, value: datetime | None) -> Any:
        """As `time`, None kept."""
        return None if value is None else self.time(value)

    def run_many(self, statement: DriverStatement, rows: Sequence[Sequence[Any]]) -> None:
        """A write, once per row (JSON values given as their text: `json.dumps`, as SQLAlchemy
        writes them)."""
        sql = statement.text(self.dialect)
        cursor = self.raw.cursor()
        try:
            cursor.executemany(sql, rows)
        except self.conn.dialect.loaded_dbapi.Error as err:
            raise self._wrapped(err, sql, rows) from err
        finally:
            cursor.close()

    def rows(self, statement: DriverStatement, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """All rows of a read."""
        sql = statement.text(self.dialect)
        cursor = self.raw.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        except self.conn.dialect.loaded_dbapi.Error as err:
            raise self._wrapped(err, sql, params) from err
        finally:
            cursor.close()

    def _wrapped(self, err: Any, sql: str, params: Sequence[Any]) -> StatementError:
        """The driver's error as SQLAlchemy raises it (OperationalError, IntegrityError, …),
        so that the stores tell a fault of the database (Unavailable) as they do elsewhere."""
        dialect = self.conn.dialect
        lost = dialect.is_disconnect(err, self.raw, None)
        if lost:  # as SQLAlchemy does: the pool drops the connection, no rollback is tried
            self.conn.invalidate(err)
        wrapped: StatementError = DBAPIError.instance(
            sql,
            list(params),
            err,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,  # reports' fields stay out of messages and logs
            connection_invalidated=lost,
            dialect=dialect,
        )
        return wrapped
