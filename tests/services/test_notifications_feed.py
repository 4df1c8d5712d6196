"""The dispatcher's change feed over the audit log: in commit-safe order on both dialects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.alerting import SqlAlertingStore
from tocsin.adapters.storage.engine import make_engine, migrate

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _row(subject_type: str, subject_id: str, **extra: object) -> dict[str, object]:
    return {
        "at": AT,
        "actor": "test",
        "kind": "warning.raised" if subject_type == "warning" else "other",
        "subject_type": subject_type,
        "subject_id": subject_id,
        "reason": "",
        "details": {},
        **extra,
    }


def test_feed_reads_each_warning_transition_once(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    store = SqlAlertingStore(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(t.audit_log),
            [_row("warning", "w1"), _row("user", "u"), _row("warning", "w2")],
        )
    with store.transaction() as tx:
        rows = tx.read_feed(10)
        assert [r.warning_id for r in rows] == ["w1", "w2"]
        tx.advance_feed([r.id for r in rows])
    with store.transaction() as tx:
        assert tx.read_feed(10) == []
    with engine.begin() as conn:
        conn.execute(insert(t.audit_log), [_row("warning", "w3")])
    with store.transaction() as tx:
        rows = tx.read_feed(1)
        assert [r.warning_id for r in rows] == ["w3"]
        tx.advance_feed([rows[0].id])
    engine.dispose()


def test_feed_survives_a_rolled_back_id(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    store = SqlAlertingStore(engine)
    with engine.begin() as conn:
        conn.execute(insert(t.audit_log), [_row("warning", "w1")])
    with engine.connect() as conn:  # takes an id, then rolls back
        rollback = conn.begin()
        conn.execute(insert(t.audit_log), [_row("warning", "lost")])
        rollback.rollback()
    with engine.begin() as conn:
        conn.execute(insert(t.audit_log), [_row("warning", "w2")])
    for _ in range(2):
        with store.transaction() as tx:
            rows = tx.read_feed(10)
            tx.advance_feed([r.id for r in rows])
    with store.transaction() as tx:
        assert tx.read_feed(10) == []
    engine.dispose()


@pytest.mark.postgres
def test_feed_waits_for_a_transaction_still_running(pg_url: str) -> None:
    engine = make_engine(pg_url)
    migrate(engine)
    store = SqlAlertingStore(engine)
    slow = engine.connect()
    slow_tx = slow.begin()
    slow.execute(insert(t.audit_log), [_row("warning", "slow")])  # takes the lower id
    with engine.begin() as conn:
        conn.execute(insert(t.audit_log), [_row("warning", "fast")])
    with store.transaction() as tx:
        rows = tx.read_feed(10)
        assert [r.warning_id for r in rows] == ["fast"]
        tx.advance_feed([r.id for r in rows])
    slow_tx.commit()
    slow.close()
    with store.transaction() as tx:
        rows = tx.read_feed(10)
        # the slower transaction's row is not skipped, and "fast" is not read again
        assert [r.warning_id for r in rows] == ["slow"]
        tx.advance_feed([r.id for r in rows])
    with store.transaction() as tx:
        assert tx.read_feed(10) == []
    engine.dispose()
