"""PostgreSQL plans each execution of a prepared statement with the values it is given.

psycopg prepares a statement run five times; after five more executions the server may keep a
generic plan, costed once from the statistics of that moment and blind to the values. A new
deployment's reports table, empty when such plans were made, filled in a storm: the nearby
read's generic plan walked every report of the time window, and the feed watcher's look read
every warning record (docs/benchmarks.md, "Public reports"). Every connection of the engine
sets `plan_cache_mode`, and a plan shows the values it was made for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.adapters.storage.engine import make_engine, migrate
from tocsin.adapters.storage.sql.driver import Driver
from tocsin.adapters.storage.sql.reports import _nearest

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_prepared_read_is_planned_with_each_executions_values(pg_url: str) -> None:
    engine = make_engine(pg_url)
    migrate(engine)
    statement = _nearest(1, 1)
    with engine.connect() as conn:
        drv = Driver(conn)
        window = [drv.time(T0), drv.time(T0 + timedelta(days=1))]
        params = [45.5, 45.5, 10.5, 10.5, 0.5, "gas_smell", *window, 45.49, 45.51, 10.49, 10.51, 5]
        for _ in range(12):  # prepared after five, and its generic plan weighed after five more
            assert drv.rows(statement, params) == []
        name = conn.exec_driver_sql(
            "SELECT name FROM pg_prepared_statements WHERE statement LIKE %(s)s",
            {"s": "%AS q, id, lat, lon, cluster%"},
        ).scalar_one()
        start, end = T0.isoformat(), (T0 + timedelta(days=1)).isoformat()
        values = f"45.5, 45.5, 10.5, 10.5, 0.5, 'gas_smell', '{start}', '{end}', "
        values += "45.49, 45.51, 10.49, 10.51, 5"
        explained = conn.exec_driver_sql(f"EXPLAIN EXECUTE {name}({values})")
        plan = "\n".join(row[0] for row in explained)
        setting = conn.exec_driver_sql("SHOW plan_cache_mode").scalar_one()
        with engine.connect() as other:  # a second connection of the pool has it too
            again = other.exec_driver_sql("SHOW plan_cache_mode").scalar_one()
    engine.dispose()
    assert "'gas_smell'::text" in plan, plan
    assert "$6" not in plan, plan
    assert setting == again == "force_custom_plan"
