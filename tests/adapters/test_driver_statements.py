"""Statements on the driver's cursor: placeholders per driver, timestamps as the tables keep
them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, DateTime, MetaData, Table, select

from tocsin.adapters.storage.engine import make_engine
from tocsin.adapters.storage.sql.driver import Driver, DriverStatement
from tocsin.adapters.storage.times import must


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
