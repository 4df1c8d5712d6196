"""The audit trail's hash chain on SQLite and PostgreSQL: appends from concurrent transactions
form one chain, and every direct edit of the table (altered, deleted, reordered, inserted, the
head moved) is named by `tocsin audit verify` with the exact record."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import delete, insert, update

from tests.factories import T0
from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.sql.store import SqlStore
from tocsin.bootstrap import open_stores
from tocsin.core.audit import AuditRecord
from tocsin.core.audit_chain import Tamper
from tocsin.services.audit import AuditService


def _record(i: int) -> AuditRecord:
    return AuditRecord(
        T0 + timedelta(seconds=i),
        f"user{i % 3}",
        "warning.acknowledged",
        "warning",
        f"w{i}",
        f"reason {i} — ünïcode",
        {"n": i, "level": "red", "nested": {"b": [1, 2.5]}},
    )


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    stores = open_stores(db_url)
    assert isinstance(stores.store, SqlStore)
    with stores.store.transaction() as tx:
        tx.audit.append([_record(i) for i in range(1, 4)])  # ids 1-3
    for i in range(4, 11):  # ids 4-10, one transaction each
        with stores.store.transaction() as tx:
            tx.audit.append([_record(i)])
    yield stores.store
    stores.close()


def _sql(store: SqlStore, statement: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(statement)  # type: ignore[call-overload]


def test_an_untouched_trail_verifies_and_exports_its_head(store: SqlStore) -> None:
    done = AuditService(store).verify()
    assert done.finding is None
    assert done.records == 10
    assert done.head.seq == 10
    assert AuditService(store).head() == done.head


def test_an_altered_record_is_named(store: SqlStore) -> None:
    a = t.audit_log
    _sql(store, update(a).where(a.c.id == 5).values(reason="nothing happened"))
    found = AuditService(store).verify().finding
    assert found is not None
    assert (found.tamper, found.record_id, found.seq) == (Tamper.ALTERED, 5, 5)


def test_an_altered_detail_or_time_is_named(store: SqlStore) -> None:
    a = t.audit_log
    _sql(store, update(a).where(a.c.id == 7).values(at=T0 + timedelta(days=1)))
    found = AuditService(store).verify().finding
    assert found is not None
    assert (found.tamper, found.record_id) == (Tamper.ALTERED, 7)


def test_a_deleted_record_is_named_by_its_place(store: SqlStore) -> None:
    _sql(store, delete(t.audit_log).where(t.audit_log.c.id == 4))
    found = AuditService(store).verify().finding
    assert found is not None
    assert (found.tamper, found.seq, found.record_id) == (Tamper.DELETED, 4, None)
    assert "after record 3" in found.detail


def test_deleting_the_last_records_is_seen_against_the_head(store: SqlStore) -> None:
    _sql(store, delete(t.audit_log).where(t.audit_log.c.id >= 9))
    found = AuditService(store).verify().finding
    assert found is not None
    assert (found.tamper, found.seq) == (Tamper.DELETED, 9)
    assert "2 record(s) after record 8" in found.detail


def test_reordered_records_are_named(store: SqlStore) -> None:
    a = t.audit_log
    with store.engine.begin() as conn:  # swap the row ids of records 4 and 5
        conn.execute(update(a).where(a.c.id == 4).values(id=1000))
        conn.execute(update(a).where(a.c.id == 5).values(id=4))
        conn.execute(update(a).where(a.c.id == 1000).values(id=5))
    found = AuditService(store).verify().finding
    assert found is not None
    assert (found.tamper, found.record_id) == (Tamper.REORDERED, 5)


def test_a_record_inserted_around_the_chain_is_named(store: SqlStore) -> None:
    row = {
        "at": T0,
        "actor": "mallory",
        "kind": "warning.acknowledged",
        "subject_type": "warning",
        "subject_id": "w1",
        "reason": "forged",
        "details": {},
    }
    _sql(store, insert(t.audit_log).values(**row))
    found = AuditService(store).verify().finding
    assert found is not None
    assert (found.tamper, found.record_id) == (Tamper.UNCHAINED, 11)


def test_a_rewritten_trail_no_longer_matches_its_anchored_head(store: SqlStore) -> None:
    anchored = AuditService(store).head()
    c = t.audit_chain
    _sql(store, update(c).values(head="0" * 64))
    found = AuditService(store).verify().finding
    assert found is not None
    assert found.tamper is Tamper.HEAD
    assert AuditService(store).head() != anchored


def test_concurrent_appends_form_one_chain(store: SqlStore) -> None:
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            for i in range(10):
                with store.transaction() as tx:
                    tx.users.get("nobody")  # a read first, then the append
                    tx.audit.append([_record(1000 + worker * 100 + i)])
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    done = AuditService(store).verify()
    assert done.finding is None
    assert (done.records, done.head.seq) == (50, 50)
