"""Statements on the driver's cursor: placeholders per driver, timestamps as the tables keep
them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    func,
    insert,
    select,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from tocsin.adapters.storage.engine import make_engine
from tocsin.adapters.storage.faults import faults_as_unavailable
from tocsin.adapters.storage.sql.driver import Driver, DriverStatement, DriverTable
from tocsin.adapters.storage.sql.lookups import CHUNK
from tocsin.adapters.storage.times import must
from tocsin.core.errors import Unavailable


def test_placeholders_follow_the_driver_and_a_percent_sign_is_refused() -> None:
    statement = DriverStatement("SELECT ? + ?")
    assert statement.text("sqlite") == "SELECT ? + ?"
    assert statement.text("postgresql") == "SELECT %s + %s"
    json_value = DriverStatement("INSERT INTO t VALUES (?, {json})")
    assert json_value.text("sqlite") == "INSERT INTO t VALUES (?, ?)"
    assert json_value.text("postgresql") == "INSERT INTO t VALUES (%s, CAST(%s AS JSON))"
    with pytest.raises(ValueError, match="'%'"):
        DriverStatement("SELECT 5 % ?")


def test_a_timestamp_reads_back_as_the_tables_keep_it(db_url: str) -> None:
    at = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    stamps = Table("stamps", MetaData(), Column("at", DateTime(timezone=True)))
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            stamps.create(conn)
            drv = Driver(conn)
            insert_one = DriverStatement("INSERT INTO stamps (at) VALUES (?)")
            drv.raw.cursor().execute(insert_one.text(drv.dialect), [drv.time(at)])
            (through_sqlalchemy,) = conn.execute(select(stamps.c.at)).one()
            ((raw,),) = drv.rows(DriverStatement("SELECT at FROM stamps"), [])
    finally:
        engine.dispose()
    assert drv.read_time(raw) == at
    assert must(through_sqlalchemy) == at  # what the adapters read, unchanged


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it_without_the_values(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            drv = Driver(conn)
            with pytest.raises(DBAPIError) as raised:
                drv.rows(DriverStatement("SELECT secret FROM no_such_table WHERE x = ?"), ["a@b.c"])
    finally:
        engine.dispose()
    assert "no_such_table" in str(raised.value)
    assert "a@b.c" not in str(raised.value)


@pytest.mark.postgres
def test_a_lost_server_connection_is_unavailable_as_on_any_statement(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with engine.connect() as other:
                other.execute(select(func.pg_terminate_backend(pid)))
            with pytest.raises(Unavailable, match=r"connection|server"), faults_as_unavailable():
                Driver(conn).rows(DriverStatement("SELECT ?"), [1])
        with engine.connect() as conn:  # the pool dropped the lost connection
            assert Driver(conn).rows(DriverStatement("SELECT ?"), [2]) == [(2,)]
    finally:
        engine.dispose()


def _things() -> Table:
    return Table(
        "things",
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(32), nullable=False, unique=True),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("until", DateTime(timezone=True), nullable=True),
        Column("body", JSON, nullable=False),
        Column("lat", Float, nullable=False),  # PostgreSQL's numeric processors take the
        Column("amount", Numeric(10, 3), nullable=True),  # driver's type code
    )


def _aware(value: object) -> object:
    """As the adapters read a timestamp (SQLite's come back naive, in UTC)."""
    return must(value) if isinstance(value, datetime) else value


def _row(i: int) -> dict[str, object]:
    at = datetime(2026, 1, 2, 3, 4, 5, i % 1_000_000, tzinfo=UTC)
    body = {"n": i, "text": "ä €", "list": [1, 2.5, None, {"x": True}]}
    amount = Decimal(i) / 8 if i % 3 else None
    row = {"name": f"t{i}", "at": at, "until": at if i % 2 else None, "body": body}
    return row | {"lat": 47.5 + i / 1_000, "amount": amount}


def test_a_table_written_and_read_on_the_driver_is_what_sqlalchemy_writes_and_reads(
    db_url: str,
) -> None:
    things = _things()
    table = DriverTable(things)
    assert "id" not in table.written  # the database numbers the rows
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            things.create(conn)
            drv = Driver(conn)
            table.insert_rows(drv, [_row(i) for i in range(0, 1_300, 2)])  # on the driver
            conn.execute(insert(things), [_row(i) for i in range(1, 1_300, 2)])  # SQLAlchemy
            by_sqlalchemy = {
                r["name"]: dict(r) for r in conn.execute(select(things)).mappings().all()
            }
            names = [f"t{i}" for i in range(1_300)] + ["t7", "missing"]  # a repeat, a miss
            assert len(names) > 2 * CHUNK  # read in three chunks
            first = drv.time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))  # _row(0)["at"]
            on_driver = table.read(drv, "at >= ? AND name IN", [first], keys=names)
            with pytest.raises(IntegrityError):
                table.insert_rows(drv, [_row(5)])  # name is unique
    finally:
        engine.dispose()
    assert len(by_sqlalchemy) == 1_300
    for i in range(1_300):
        expected = _row(i)
        stored = by_sqlalchemy[f"t{i}"]
        assert {k: _aware(stored[k]) for k in expected} == expected
    assert len(on_driver) == 1_300  # each key once
    assert {r["name"]: r for r in on_driver} == by_sqlalchemy


def test_a_driver_write_as_a_connections_first_statement_is_committed_with_it(
    db_url: str,
) -> None:
    """A session that only writes (its first statement on the driver) commits as the
    connection commits: the driver begins SQLAlchemy's transaction as a statement would."""
    things = _things()
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            things.create(conn)
        with engine.connect() as conn:
            DriverTable(things).insert_rows(Driver(conn), [_row(1)])
            conn.commit()
        with engine.connect() as conn:
            (count,) = conn.execute(select(func.count()).select_from(things)).one()
    finally:
        engine.dispose()
    assert count == 1
