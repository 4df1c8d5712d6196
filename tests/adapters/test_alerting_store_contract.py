"""The warning pipeline store's contract (feed, groups, escalations, silences, outbox), run on
the in-memory reference store, SQLite and PostgreSQL; and PostgreSQL's commit-order feed."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from tests.factories import (
    T0,
    make_escalation,
    make_group,
    make_notification,
    make_silence,
    make_warning,
    transition,
)
from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.engine import make_engine, migrate
from tocsin.adapters.storage.sql.alerting import SqlAlertingStore
from tocsin.bootstrap import Stores
from tocsin.core.audit import AuditRecord
from tocsin.core.warnings.escalation import EscalationReason
from tocsin.core.warnings.outbox import Attempt, Channel, DeliveryStatus
from tocsin.core.warnings.silence_approval import Approval, Breadth
from tocsin.core.warnings.silences import SilenceId, SilenceState, approve, refuse

MINUTE = timedelta(minutes=1)


def record(subject_type: str, subject_id: str) -> AuditRecord:
    return AuditRecord(T0, "test", "other", subject_type, subject_id, "", {})


def append(stores: Stores, *records: AuditRecord) -> None:
    """Append to the audit log in a transaction of the foundation store."""
    with stores.store.transaction() as tx:
        tx.audit.append(records)


def test_feed_reads_each_warning_transition_once(stores: Stores) -> None:
    w1, w2, w3 = make_warning("w1"), make_warning("w2"), make_warning("w3")
    append(stores, transition(w1), record("user", "u"), transition(w2))
    with stores.alerting.transaction() as tx:
        rows = tx.feed.read(10)
        assert [r.warning_id for r in rows] == ["w1", "w2"]
        tx.feed.advance([r.id for r in rows])
    with stores.alerting.transaction() as tx:
        assert tx.feed.read(10) == []
    append(stores, transition(w3))
    with stores.alerting.transaction() as tx:
        rows = tx.feed.read(1)
        assert [(r.warning_id, r.kind) for r in rows] == [("w3", "warning.raised")]
        tx.feed.advance([rows[0].id])


def test_the_feed_stops_at_a_transition_not_processed_and_steps_over_other_records(
    stores: Stores,
) -> None:
    w1, w2, w3 = make_warning("w1"), make_warning("w2"), make_warning("w3")
    append(stores, record("report", "r1"), transition(w1), record("report", "r2"))
    append(stores, transition(w2), *[record("report", f"r{i}") for i in range(3, 40)])
    with stores.alerting.transaction() as tx:
        rows = tx.feed.read(10)
        assert [r.warning_id for r in rows] == ["w1", "w2"]
        tx.feed.advance([rows[1].id])  # w2 handled, w1 not
    with stores.alerting.transaction() as tx:
        rows = tx.feed.read(10)
        assert [r.warning_id for r in rows] == ["w1"]  # w2 is not read again
        tx.feed.advance([rows[0].id])
    append(stores, record("report", "r40"), transition(w3))
    with stores.alerting.transaction() as tx:
        rows = tx.feed.read(10)
        assert [r.warning_id for r in rows] == ["w3"]
        tx.feed.advance([rows[0].id])
    with stores.alerting.transaction() as tx:
        assert tx.feed.read(10) == []


def test_feed_skips_a_rolled_back_transition(stores: Stores) -> None:
    append(stores, transition(make_warning("w1")))

    def roll_back() -> None:
        with stores.store.transaction() as tx:
            tx.audit.append([transition(make_warning("lost"))])
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        roll_back()
    append(stores, transition(make_warning("w2")))
    seen: list[str] = []
    for _ in range(2):
        with stores.alerting.transaction() as tx:
            rows = tx.feed.read(10)
            seen += [r.warning_id for r in rows]
            tx.feed.advance([r.id for r in rows])
    assert seen == ["w1", "w2"]
    with stores.alerting.transaction() as tx:
        assert tx.feed.read(10) == []


def test_a_feed_position_not_advanced_is_read_again(stores: Stores) -> None:
    append(stores, transition(make_warning("w1")))

    def crash() -> None:
        with stores.alerting.transaction() as tx:
            tx.feed.advance([r.id for r in tx.feed.read(10)])
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        crash()
    with stores.alerting.transaction() as tx:
        assert [r.warning_id for r in tx.feed.read(10)] == ["w1"]


def test_warnings_are_read_by_the_pipeline(stores: Stores) -> None:
    with stores.store.transaction() as tx:
        tx.warnings.save([make_warning("a"), make_warning("b", region="P1")], new=True)
    with stores.alerting.transaction() as tx:
        assert sorted(tx.warnings.by_ids(["a", "b", "c"])) == ["a", "b"]
        assert [w.id for w in tx.warnings.open_in_regions(["P1"])] == ["b"]


def test_group_membership_is_visible_at_once_and_kept(stores: Stores) -> None:
    with stores.alerting.transaction() as tx:
        tx.groups.save(make_group("g1", due_in=MINUTE))
        tx.groups.add_members("g1", ["a", "b"])
        tx.groups.add_members("g2", ["a"])
        tx.groups.remove_members("g1", ["b"])
        assert tx.groups.members_of(["g1", "g2"]) == {"g1": ["a"], "g2": ["a"]}
        assert tx.groups.groups_of(["a", "b"]) == {"a": {"g1", "g2"}, "b": set()}
    with stores.alerting.transaction() as tx:
        assert tx.groups.members_of(["g1", "g9"]) == {"g1": ["a"], "g9": []}
        assert list(tx.groups.get_many(["g1", "g9"])) == ["g1"]
        tx.groups.add_members("g1", ["a", "c"])  # "a" is there already
    with stores.alerting.transaction() as tx:
        assert tx.groups.members_of(["g1"]) == {"g1": ["a", "c"]}


def test_groups_fall_due_and_are_forgotten(stores: Stores) -> None:
    with stores.alerting.transaction() as tx:
        tx.groups.save(make_group("late", due_in=5 * MINUTE))
        tx.groups.save(make_group("soon", due_in=MINUTE))
        tx.groups.save(make_group("idle"))
        tx.groups.add_members("soon", ["a"])
    with stores.alerting.transaction() as tx:
        assert tx.groups.next_due() == T0 + MINUTE
        assert [g.id for g in tx.groups.due(T0 + 2 * MINUTE, 10)] == ["soon"]
        assert [g.id for g in tx.groups.due(T0 + 9 * MINUTE, 1)] == ["soon"]
        soon = tx.groups.get_many(["soon"])["soon"]
        assert soon == make_group("soon", due_in=MINUTE)
        tx.groups.delete("soon")
    with stores.alerting.transaction() as tx:
        assert tx.groups.get_many(["soon"]) == {}
        assert tx.groups.groups_of(["a"]) == {"a": set()}
        assert tx.groups.next_due() == T0 + 5 * MINUTE


def test_escalations_fall_due_until_stopped(stores: Stores) -> None:
    with stores.alerting.transaction() as tx:
        tx.escalations.save(make_escalation("w1", due_in=MINUTE))
        tx.escalations.save(make_escalation("w2", due_in=10 * MINUTE))
    with stores.alerting.transaction() as tx:
        assert tx.escalations.next_due() == T0 + MINUTE
        assert [e.warning_id for e in tx.escalations.due(T0 + 2 * MINUTE, 10)] == ["w1"]
        w1 = tx.escalations.get("w1")
        assert w1 == make_escalation("w1", due_in=MINUTE)
        stopped = replace(
            w1, next_due_at=None, stopped_at=T0, stop_reason=EscalationReason.ACKNOWLEDGED
        )
        tx.escalations.save(stopped)
    with stores.alerting.transaction() as tx:
        assert tx.escalations.due(T0 + 60 * MINUTE, 10) == [tx.escalations.get("w2")]
        assert tx.escalations.get("w1") == stopped
        assert tx.escalations.get("w3") is None
        assert tx.escalations.next_due() == T0 + 10 * MINUTE  # the stopped one no longer counts


def test_silences_are_found_and_their_end_noticed_once(stores: Stores) -> None:
    with stores.alerting.transaction() as tx:
        tx.silences.save(make_silence("s1", ends_in=MINUTE), new=True)
        tx.silences.save(make_silence("s2", ends_in=60 * MINUTE, created_at=T0 + MINUTE), new=True)
    later = T0 + 5 * MINUTE
    with stores.alerting.transaction() as tx:
        assert [s.id for s in tx.silences.find(now=later, include_expired=False)] == ["s2"]
        assert [s.id for s in tx.silences.find(now=later, include_expired=True)] == ["s2", "s1"]
        assert [s.id for s in tx.silences.ended_unnoticed(later)] == ["s1"]
        tx.silences.mark_noticed("s1")
        ended = replace(make_silence("s2", ends_in=MINUTE), expired_by="bob")
        tx.silences.save(ended, new=False)
    with stores.alerting.transaction() as tx:
        assert [s.id for s in tx.silences.ended_unnoticed(later)] == ["s2"]
        assert tx.silences.get("s2") == ended
        assert tx.silences.get("s9") is None


def test_a_silence_keeps_its_approval_open_then_decided(stores: Stores) -> None:
    needs = (Breadth.WIDE_REGION, Breadth.ALL_LEVELS_LONG)
    waiting = replace(make_silence("s1", ends_in=60 * MINUTE), approval=Approval(needs))
    plain = make_silence("s2", ends_in=60 * MINUTE)
    with stores.alerting.transaction() as tx:
        tx.silences.save(waiting, new=True)
        tx.silences.save(plain, new=True)
    with stores.alerting.transaction() as tx:
        assert tx.silences.get("s1") == waiting
        assert tx.silences.get("s2") == plain  # no approval: stored as none
        found = tx.silences.find(now=T0, include_expired=False)
        assert {s.id: s.approval for s in found} == {"s1": waiting.approval, "s2": None}
    later = T0 + 5 * MINUTE
    approved = approve(waiting, actor="bob", now=later)
    refused = refuse(
        replace(waiting, id=SilenceId("s3")), actor="carol", now=later, note="too wide"
    )
    with stores.alerting.transaction() as tx:
        tx.silences.save(approved, new=False)
        tx.silences.save(refused, new=True)
    with stores.alerting.transaction() as tx:
        assert tx.silences.get("s1") == approved
        assert tx.silences.get("s3") == refused
        assert [s.id for s in tx.silences.find(now=later, include_expired=False)] == ["s1", "s2"]
        assert tx.silences.get("s1").state(later) is SilenceState.ACTIVE  # type: ignore[union-attr]
        assert tx.silences.get("s3").state(later) is SilenceState.REFUSED  # type: ignore[union-attr]


def test_the_outbox_keeps_a_key_once_and_records_outcomes(stores: Stores) -> None:
    with stores.alerting.transaction() as tx:
        tx.outbox.add([make_notification("k1"), make_notification("k2", warning_ids=("w2",))])
    with stores.alerting.transaction() as tx:
        tx.outbox.add([make_notification("k1", subject="other")])  # the stored one is kept
    with stores.alerting.transaction() as tx:
        (k1,) = tx.outbox.find(warning_id="w1")
        assert k1 == make_notification("k1")
        tx.outbox.mark("k1", Attempt(DeliveryStatus.DELIVERED, 1, delivered_at=T0 + MINUTE))
    with stores.alerting.transaction() as tx:
        assert [n.key for n in tx.outbox.find(status="delivered")] == ["k1"]
        assert [n.key for n in tx.outbox.find(status="pending")] == ["k2"]
        assert len(tx.outbox.find(limit=1)) == 1


def test_due_notifications_are_claimed_once(stores: Stores) -> None:
    email = make_notification("k3", channel=Channel.EMAIL, address="d11@example.test")
    later = make_notification("k4", next_attempt_at=T0 + 10 * MINUTE)
    with stores.alerting.transaction() as tx:
        tx.outbox.add([make_notification("k1"), make_notification("k2"), email, later])
    until = T0 + MINUTE
    first = stores.alerting.claim_notifications(T0, until=until, limit=1, channels=["webhook"])
    rest = stores.alerting.claim_notifications(T0, until=until, limit=10, channels=["webhook"])
    assert [(n.key, n.attempts, n.next_attempt_at) for n in first + rest] == [
        ("k1", 1, until),
        ("k2", 1, until),
    ]
    assert stores.alerting.claim_notifications(T0, until=until, limit=10) == [
        replace(email, attempts=1, next_attempt_at=until)
    ]
    again = stores.alerting.claim_notifications(until, until=until + MINUTE, limit=10)
    assert sorted((n.key, n.attempts) for n in again) == [("k1", 2), ("k2", 2), ("k3", 2)]


def _audit_row(subject_id: str) -> dict[str, object]:
    kind, subject_type = "warning.raised", "warning"
    return {
        "at": T0,
        "actor": "test",
        "kind": kind,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "reason": "",
        "details": {},
    }


@pytest.mark.postgres
def test_feed_waits_for_a_transaction_still_running(pg_url: str) -> None:
    engine = make_engine(pg_url)
    migrate(engine)
    store = SqlAlertingStore(engine)
    slow = engine.connect()
    slow_tx = slow.begin()
    slow.execute(insert(t.audit_log), [_audit_row("slow")])  # takes the lower id
    with engine.begin() as conn:
        conn.execute(insert(t.audit_log), [_audit_row("fast")])
    with store.transaction() as tx:
        rows = tx.feed.read(10)
        assert [r.warning_id for r in rows] == ["fast"]
        tx.feed.advance([r.id for r in rows])
    slow_tx.commit()
    slow.close()
    with store.transaction() as tx:
        rows = tx.feed.read(10)
        # the slower transaction's row is not skipped, and "fast" is not read again
        assert [r.warning_id for r in rows] == ["slow"]
        tx.feed.advance([r.id for r in rows])
    with store.transaction() as tx:
        assert tx.feed.read(10) == []
    engine.dispose()


def test_pipeline_threads_of_one_process_take_turns_at_waiting_for_sqlites_lock(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite has one writer: the store's gate lets one thread of the process at a time poll
    # for its lock (each refused BEGIN IMMEDIATE costs a statement); every write still lands
    from tocsin.adapters.storage import sqlite_writer
    from tocsin.bootstrap import open_stores

    taking = {"now": 0, "most": 0}
    count = threading.Lock()
    real = sqlite_writer._begin_immediate

    def begin_immediate(conn: Any) -> None:
        with count:
            taking["now"] += 1
            taking["most"] = max(taking["most"], taking["now"])
        try:
            time.sleep(0.001)  # a moment in which a second thread would join the polling
            real(conn)
        finally:
            with count:
                taking["now"] -= 1

    monkeypatch.setattr(sqlite_writer, "_begin_immediate", begin_immediate)
    stores = open_stores(sqlite_url)
    threads = 8
    start = threading.Barrier(threads)

    def write(k: int) -> None:
        start.wait()
        for i in range(25):
            with stores.alerting.transaction() as tx:
                tx.outbox.add([make_notification(f"t{k}-{i}")])

    workers = [threading.Thread(target=write, args=(k,)) for k in range(threads)]
    try:
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=60)
        with stores.alerting.transaction() as tx:
            stored = tx.outbox.find(limit=1_000)
    finally:
        stores.close()
    assert len(stored) == threads * 25
    assert taking["most"] == 1
