"""The leases' contract (compare-and-set, the fence on writes), on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import make_batch
from tocsin.bootstrap import Stores
from tocsin.core.errors import NotOwner
from tocsin.core.leases import Holder, Lease, LeaseName, claim
from tocsin.services.leadership import FencedAlertingStore, Leadership
from tocsin.testing.clock import FakeClock

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TTL = timedelta(seconds=6)
A, B = Holder("a", "http://a:8080"), Holder("b")


def _take(stores: Stores, holder: Holder, now: datetime) -> Lease | None:
    with stores.store.transaction() as tx:
        current = tx.leases.current("rules")
        decided = claim(current, name="rules", holder=holder, now=now, ttl=TTL)
        if decided.lease is None or not tx.leases.replace(decided.lease, expected=current):
            return None
        return decided.lease


def test_a_lease_changes_only_by_compare_and_set(stores: Stores) -> None:
    with stores.store.transaction() as tx:
        assert tx.leases.current("rules") is None
    first = _take(stores, A, T0)
    assert first == Lease("rules", A, 1, T0 + TTL)
    with stores.store.transaction() as tx:
        assert tx.leases.current("rules") == first
        assert not tx.leases.replace(Lease("rules", B, 1, T0), expected=None)  # not free
        stale = Lease("rules", A, 1, T0 + timedelta(seconds=1))  # not what is stored
        assert not tx.leases.replace(Lease("rules", B, 2, T0), expected=stale)
    assert _take(stores, B, T0 + timedelta(seconds=5)) is None  # still A's
    taken = _take(stores, B, T0 + timedelta(seconds=7))
    assert taken == Lease("rules", B, 2, T0 + timedelta(seconds=13))
    with stores.store.transaction() as tx:
        assert tx.leases.current("rules") == taken
        assert tx.leases.current("dispatch") is None  # names are independent


def test_leases_are_listed_by_the_start_of_their_names(stores: Stores) -> None:
    names = ["stream-partition:1/4", "stream-partition:0/4", "stream-partitionX", "rules", "s%_"]
    with stores.store.transaction() as tx:
        for name in names:
            assert tx.leases.replace(Lease(name, A, 1, T0 + TTL), expected=None)
    with stores.store.transaction() as tx:
        found = [lease.name for lease in tx.leases.named("stream-partition:")]
        assert found == ["stream-partition:0/4", "stream-partition:1/4"]
        assert tx.leases.named("stream-partition:0/4") == [Lease(names[1], A, 1, T0 + TTL)]
        assert [lease.name for lease in tx.leases.named("s%")] == ["s%_"]  # no wildcards
        assert tx.leases.named("nothing") == []


def test_expired_leases_of_a_prefix_are_removed_and_no_others(stores: Stores) -> None:
    rows = {
        "stream-worker:old": T0,  # expired before the cut
        "stream-worker:new": T0 + TTL * 3,  # still valid at the cut
        "stream-workerX": T0,  # another prefix
        "rules": T0,
    }
    with stores.store.transaction() as tx:
        for name, until in rows.items():
            assert tx.leases.replace(Lease(name, A, 1, until), expected=None)
    with stores.store.transaction() as tx:
        assert tx.leases.remove_expired("stream-worker:", before=T0 + TTL) == 1
    with stores.store.transaction() as tx:
        assert [lease.name for lease in tx.leases.named("stream-worker")] == [
            "stream-worker:new",
            "stream-workerX",
        ]
        assert tx.leases.current("rules") is not None


def test_a_fenced_transaction_commits_only_while_its_lease_is_current(stores: Stores) -> None:
    old = _take(stores, A, T0)
    assert old is not None
    with stores.store.transaction() as tx:
        tx.observations.write(make_batch([0], [100], [1.0]))
        tx.leases.fence("rules", old)
    assert _take(stores, B, T0 + timedelta(seconds=7)) is not None  # B took over

    def write_under(lease: Lease | None, at: int) -> None:
        with stores.store.transaction() as tx:
            tx.observations.write(make_batch([0], [at], [2.0]))
            tx.leases.fence("rules", lease)

    with pytest.raises(NotOwner, match="lost the rules lease"):
        write_under(old, 200)
    with pytest.raises(NotOwner, match="does not hold the rules lease"):
        write_under(None, 300)
    with stores.store.transaction() as tx:
        assert tx.observations.read(0).times.tolist() == [100]  # nothing of the fenced-out


def test_the_pipeline_fences_writes_and_lets_a_standby_read(stores: Stores) -> None:
    clock = FakeClock(T0)
    owner = Leadership(stores.store, clock, name=LeaseName.DISPATCH, holder=A, ttl=TTL)
    standby = Leadership(stores.store, clock, name=LeaseName.DISPATCH, holder=B, ttl=TTL)
    assert owner.claim() is not None
    assert standby.claim() is None
    fenced = FencedAlertingStore(stores.alerting, standby)
    with fenced.transaction() as tx:  # a standby may read
        assert tx.outbox.find() == []
    with pytest.raises(NotOwner), fenced.transaction() as tx:
        tx.feed.advance([1])  # … but not write
    with FencedAlertingStore(stores.alerting, owner).transaction() as tx:
        tx.feed.advance([1])


def test_a_lease_that_ran_out_and_was_taken_over_is_not_released_by_its_old_holder(
    stores: Stores,
) -> None:
    clock = FakeClock(T0)
    old = Leadership(stores.store, clock, name="stream-partition:0/4", holder=A, ttl=TTL)
    new = Leadership(stores.store, clock, name="stream-partition:0/4", holder=B, ttl=TTL)
    assert old.claim() is not None
    clock.advance(TTL + timedelta(seconds=1))  # the old holder paused past its lease
    taken = new.claim()
    assert taken is not None
    assert taken.holder == B
    old.release()  # wakes up and gives up what it thinks it holds
    with stores.store.transaction() as tx:
        assert tx.leases.current("stream-partition:0/4") == taken  # B's, untouched
    assert old.renew() is None  # and renewing never takes a lease back
    new.release()
    assert old.renew() is None
    with stores.store.transaction() as tx:
        current = tx.leases.current("stream-partition:0/4")
    assert current is not None
    assert current.holder == B
    assert not current.is_valid_at(clock.now())
