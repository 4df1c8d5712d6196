"""The public reports' nearby and fingerprint reads are planned with each execution's values on
PostgreSQL (never prepared), while other statements are prepared as psycopg does.

psycopg prepares a statement run five times; after five more executions the server may keep a
generic plan, costed once from the statistics of that moment. A new deployment's reports table,
empty when such plans were made, filled in a storm: the nearby read's generic plan walked every
report of the time window (docs/benchmarks.md, "Public reports")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection

from tocsin.adapters.storage.engine import make_engine, migrate
from tocsin.adapters.storage.postgres_writer import PostgresWriter
from tocsin.adapters.storage.sql.reports import SqlReports
from tocsin.core.reports import Point
from tocsin.ports.reports import ReportQuery

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def prepared(conn: Connection) -> list[str]:
    rows = conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements")
    return [row[0] for row in rows]


def test_reads_whose_plan_depends_on_their_values_are_never_prepared(pg_url: str) -> None:
    engine = make_engine(pg_url)
    migrate(engine)
    query = ReportQuery(
        services=("gas_smell",),
        start_at=T0,
        end_at=T0 + timedelta(days=1),
        box=(45.49, 10.49, 45.51, 10.51),
    )
    with engine.connect() as conn:
        reports = SqlReports(conn, PostgresWriter())
        for _ in range(12):  # prepared after five, and a generic plan weighed after five more
            assert reports.nearest([(query, Point(45.5, 10.5))], limit=5) == [[]]
            assert reports.with_fingerprints(["fp-1", "fp-2"], since=T0) == []
            reports.cluster_state("c-1", since=T0)  # an ordinary statement, prepared
        statements = prepared(conn)
    engine.dispose()
    assert [s for s in statements if "FROM reports WHERE cluster =" in s]
    assert not [s for s in statements if "AS q, id, lat, lon" in s]
    assert not [s for s in statements if "fingerprint IN" in s]
