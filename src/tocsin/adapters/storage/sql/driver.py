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

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Connection, DateTime, Table
from sqlalchemy.exc import DBAPIError, StatementError

from tocsin.adapters.storage.dialects import raw_connection
from tocsin.adapters.storage.sql.lookups import CHUNK
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
        if not conn.in_transaction():  # as SQLAlchemy's first statement would (autobegin), so
            conn.begin()  # that the connection's commit commits what the driver wrote
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
        with self._cursor(statement, rows) as (cursor, sql):
            cursor.executemany(sql, rows)

    def run(self, statement: DriverStatement, params: Sequence[Any] = ()) -> None:
        """A statement whose rows, if any, are not wanted."""
        with self._cursor(statement, params) as (cursor, sql):
            cursor.execute(sql, params)

    def changed(self, statement: DriverStatement, params: Sequence[Any] = ()) -> int:
        """A write; the number of rows it changed."""
        with self._cursor(statement, params) as (cursor, sql):
            cursor.execute(sql, params)
            return int(cursor.rowcount)

    def rows(self, statement: DriverStatement, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """All rows of a read."""
        return self.described(statement, params)[0]

    def described(
        self, statement: DriverStatement, params: Sequence[Any]
    ) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
        """All rows of a read, and the type code the driver gives each column."""
        with self._cursor(statement, params) as (cursor, sql):
            cursor.execute(sql, params)
            types = tuple(d[1] for d in cursor.description or ())
            return list(cursor.fetchall()), types

    @contextmanager
    def _cursor(self, statement: DriverStatement, params: Sequence[Any]) -> Iterator[Any]:
        """A cursor and the statement's text for this driver; the driver's errors raised as
        SQLAlchemy raises them."""
        sql = statement.text(self.dialect)
        cursor = self.raw.cursor()
        try:
            yield cursor, sql
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


class DriverTable:
    """A table's rows on the driver: an insert of its columns (an autoincrement key left to the
    database), reads of its columns, and each value converted by its own column type's bind and
    result processors for the dialect, the conversions SQLAlchemy itself applies to the table.
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        self.columns: tuple[Column[Any], ...] = tuple(table.columns)
        self.names = tuple(c.name for c in self.columns)
        written = [c for c in self.columns if not (c.primary_key and c.autoincrement is True)]
        self.written = tuple(c.name for c in written)
        markers = ", ".join(_marker(c) for c in written)
        columns = ", ".join(self.written)
        insert = f"INSERT INTO {table.name} ({columns}) VALUES ({markers})"  # noqa: S608 - columns
        self.insert = DriverStatement(insert)
        self.select = f"SELECT {', '.join(self.names)} FROM {table.name}"  # noqa: S608 - columns
        self._bind: dict[str, dict[str, _Processor]] = {}
        self._result: dict[tuple[str, tuple[Any, ...]], list[_Processor]] = {}

    def marker(self, name: str) -> str:
        """The placeholder of a column's value (`{json}` for a JSON column)."""
        return _marker(self.table.c[name])

    def _binds(self, drv: Driver) -> dict[str, _Processor]:
        found = self._bind.get(drv.dialect)
        if found is None:
            dialect = drv.conn.dialect
            found = {
                c.name: c.type.dialect_impl(dialect).bind_processor(dialect) for c in self.columns
            }
            self._bind[drv.dialect] = found
        return found

    def _results(self, drv: Driver, types: tuple[Any, ...]) -> list[_Processor]:
        """Each column's result processor for the type code the driver gave it (PostgreSQL's
        numeric processors depend on it)."""
        key = (drv.dialect, types)
        found = self._result.get(key)
        if found is None:
            dialect = drv.conn.dialect
            found = [
                c.type.dialect_impl(dialect).result_processor(dialect, code)
                for c, code in zip(self.columns, types, strict=True)
            ]
            self._result[key] = found
        return found

    def values(self, drv: Driver, row: Mapping[str, Any], names: Sequence[str]) -> list[Any]:
        """The values of `names` in `row`, as the driver takes them."""
        binds = self._binds(drv)
        out = []
        for name in names:
            bind = binds[name]
            out.append(row[name] if bind is None else bind(row[name]))
        return out

    def insert_rows(self, drv: Driver, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert whole rows (every written column given)."""
        if rows:
            drv.run_many(self.insert, [self.values(drv, r, self.written) for r in rows])

    def read(
        self, drv: Driver, where: str, params: Sequence[Any], *, keys: Sequence[Any] = ()
    ) -> list[dict[str, Any]]:
        """Rows of `SELECT <every column> WHERE <where>` as SQLAlchemy reads them, by column
        name. With `keys`, `where` ends in `IN` and is run once per chunk of the keys (each key
        looked up once)."""
        found: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(keys))
        chunks = [unique[i : i + CHUNK] for i in range(0, len(unique), CHUNK)] if keys else [[]]
        for chunk in chunks:
            sql = f"{self.select} WHERE {where}"
            if keys:
                sql += f" ({', '.join('?' * len(chunk))})"
            raws, types = drv.described(DriverStatement(sql), [*params, *chunk])
            results = self._results(drv, types)
            for raw in raws:
                found.append(
                    {
                        name: value if proc is None else proc(value)
                        for name, proc, value in zip(self.names, results, raw, strict=True)
                    }
                )
        return found


def _marker(column: Column[Any]) -> str:
    return JSON_VALUE if isinstance(column.type, JSON) else "?"
