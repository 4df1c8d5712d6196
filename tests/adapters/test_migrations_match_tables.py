"""The migrations build exactly the schema the table modules declare: no table, column or index
that one has and the other lacks (a drift found in the clean-up of issue 10: migration 0008's
`ix_audit_at` was missing from `tables.py`)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from tocsin.adapters.storage import (
    alerting_tables,
    cap_tables,
    exposure_tables,
    incident_tables,
    lease_tables,
    report_tables,
    rollup_tables,
    stream_offset_tables,
    tables,
)
from tocsin.adapters.storage.engine import make_engine, migrate

DECLARED = [
    tables.metadata,
    alerting_tables.alerting_metadata,
    cap_tables.cap_metadata,
    exposure_tables.exposure_metadata,
    incident_tables.incident_metadata,
    lease_tables.lease_metadata,
    report_tables.report_metadata,
    rollup_tables.rollup_metadata,
    stream_offset_tables.stream_offset_metadata,
]


def declared() -> MetaData:
    """Every table module's tables in one metadata, as the migrations build them together."""
    combined = MetaData()
    for metadata in DECLARED:
        for table in metadata.tables.values():
            table.to_metadata(combined)
    return combined


def test_a_migrated_database_has_what_the_table_modules_declare(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), declared())
    finally:
        engine.dispose()
    # tables, columns and indexes; a type's spelling (JSON kept as TEXT on SQLite, say) is
    # not drift
    kinds = {
        "add_table",
        "remove_table",
        "add_column",
        "remove_column",
        "add_index",
        "remove_index",
    }
    drift = [d for d in diffs if isinstance(d, tuple) and d[0] in kinds]
    assert drift == []
