"""The warning feed's read of the audit log stays a range scan as the log grows (migration
0033's (subject_type, id) index), and the migration adds the index to an older database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from tocsin.adapters.storage.engine import make_engine, migrate
from tocsin.adapters.storage.sql.audit import _MOVED
from tocsin.adapters.storage.sql.feed import _TRANSITIONS

NAME = "ix_audit_subject_type_id"


def test_migration_0033_adds_the_feed_index_to_an_older_database(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text(f"DROP INDEX {NAME}"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0032'"))
    migrate(engine)
    indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("audit_log")}
    engine.dispose()
    assert indexes[NAME] == ["subject_type", "id"]


def test_the_feed_reads_the_next_transitions_by_range_not_by_sorting_the_log(
    tmp_path: Path,
) -> None:
    # SQLite's plan without the index: every warning record from (subject_type, subject_id),
    # then a temporary B-tree to sort them, for each read of 500
    engine = make_engine(f"sqlite:///{tmp_path / 'tocsin.db'}")
    migrate(engine)
    with engine.connect() as conn:
        sql = _TRANSITIONS.text("sqlite")
        plan = [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", (0, 500))]
    engine.dispose()
    assert plan == [f"SEARCH audit_log USING INDEX {NAME} (subject_type=? AND id>?)"]


def test_the_watchers_look_reads_only_what_came_after_its_last_one(tmp_path: Path) -> None:
    # notify run's feed watcher asks twenty times a second: the newest id by the primary key,
    # and a search of the (subject_type, id) index above the id it saw last, never a scan
    engine = make_engine(f"sqlite:///{tmp_path / 'tocsin.db'}")
    migrate(engine)
    with engine.connect() as conn:
        sql = _MOVED.text("sqlite")
        plan = [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", ("warning", 7))]
    engine.dispose()
    assert f"SEARCH audit_log USING COVERING INDEX {NAME} (subject_type=? AND id>?)" in plan
    assert not [step for step in plan if step.startswith("SCAN audit_log")]
