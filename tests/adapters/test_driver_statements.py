"""Statements on the driver's cursor: placeholders per driver, timestamps as the tables keep
them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, DateTime, MetaData, Table, func, select
from sqlalchemy.exc import DBAPIError

from tocsin.adapters.storage.engine import make_engine
from tocsin.adapters.storage.faults import faults_as_unavailable
from tocsin.adapters.storage.sql.driver import Driver, DriverStatement
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
