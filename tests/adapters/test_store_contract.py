"""The Store contract, run on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tocsin.adapters.config_yaml import load_catalog
from tocsin.adapters.storage.engine import make_engine, migrate
from tocsin.adapters.storage.sql import SqlSession, SqlStore
from tocsin.core.audit import AuditRecord
from tocsin.core.domains import DomainCode
from tocsin.core.errors import Conflict
from tocsin.core.events import Event
from tocsin.core.levels import Level
from tocsin.core.observations import ObservationBatch
from tocsin.core.regions import RegionCode
from tocsin.core.rules.thresholds import ThresholdState
from tocsin.core.users import Role, User, UserName
from tocsin.core.warnings.model import Warning, WarningId, WarningState
from tocsin.ports import WarningFilter
from tocsin.testing.scenario import small_config, write_small_config

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[SqlStore]:
    engine = make_engine(db_url)
    migrate(engine)
    migrate(engine)  # idempotent
    s = SqlStore(engine)
    with s.transaction() as tx:
        tx.sync_catalog(load_catalog(write_small_config(tmp_path / "cfg")))
    yield s
    s.close()


def batch(ids: list[int], times: list[int], values: list[float]) -> ObservationBatch:
    return ObservationBatch(
        np.array(ids, dtype=np.int64),
        np.array(times, dtype=np.int64),
        np.array(values, dtype=np.float64),
    )


def test_observations_upsert_by_indicator_and_time(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.write_observations(batch([0, 0, 1], [100, 200, 100], [1.0, 2.0, 3.0]))
    with store.transaction() as tx:
        tx.write_observations(batch([0, 0, 1], [100, 200, 100], [1.0, 2.5, 3.0]))
    with store.transaction() as tx:
        assert tx.count_observations() == 3
        got = tx.read_observations(0)
    assert got.times.tolist() == [100, 200]
    assert got.values.tolist() == [1.0, 2.5]


def test_a_failed_transaction_stores_nothing(store: SqlStore) -> None:
    def fail_midway() -> None:
        with store.transaction() as tx:
            tx.write_observations(batch([0], [100], [1.0]))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_midway()
    with store.transaction() as tx:
        assert tx.count_observations() == 0


def test_catalog_ids_are_stable_across_reloads(store: SqlStore, tmp_path: Path) -> None:
    docs = small_config()
    docs["indicators.yaml"]["indicators"].reverse()
    docs["indicators.yaml"]["indicators"].append(
        {"code": "NEW.one", "name": "new", "region": "D21", "domain": "fire"}
    )
    with store.transaction() as tx:
        before = tx.indicator_ids()
        after = tx.sync_catalog(load_catalog(write_small_config(tmp_path / "c2", **docs)))
        stored = tx.stored_catalog()
    assert all(after[code] == ident for code, ident in before.items())
    assert after["NEW.one"] == max(before.values()) + 1
    assert stored is not None
    assert {i.code for i in stored.indicators} == set(after)
    assert stored.regions.regions["D11"].geometry is not None  # type: ignore[index]


def test_threshold_state_round_trips(store: SqlStore) -> None:
    state = ThresholdState.empty(5)
    state.level[2] = 3
    state.last_time[2] = 12345
    state.above_since[2] = [1, 2, 3, ThresholdState.empty(1).above_since[0, 0]]
    state.below_since[2, 0] = 99
    with store.transaction() as tx:
        tx.save_threshold_state(np.array([2], dtype=np.int64), state)
    with store.transaction() as tx:
        loaded = tx.load_threshold_state(5)
    for name in ("level", "last_time", "above_since", "below_since"):
        assert np.array_equal(getattr(loaded, name), getattr(state, name)), name


def make_warning(
    ident: str,
    *,
    level: Level = Level.YELLOW,
    region: str = "D11",
    fp: str | None = None,
    at: datetime = T0,
) -> Warning:
    return Warning(
        id=WarningId(ident),
        fingerprint=fp or f"fp-{ident}",
        source="threshold",
        subject="D11.river_level",
        region=RegionCode(region),
        domain=DomainCode("natural.flood"),
        level=level,
        state=WarningState.ACTIVE,
        first_seen_at=at,
        last_seen_at=at,
        updated_at=at,
        cause={"value": 3.1},
        explanation={"rule": "threshold"},
    )


def test_warnings_are_listed_by_severity_then_age(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.save_warning(make_warning("a", level=Level.YELLOW), new=True)
        tx.save_warning(make_warning("b", level=Level.RED, at=T0 + timedelta(hours=1)), new=True)
        tx.save_warning(make_warning("c", level=Level.RED, region="D21"), new=True)
    with store.transaction() as tx:
        everything = tx.list_warnings(WarningFilter())
        reds = tx.list_warnings(WarningFilter(levels=("red",)))
        p1 = tx.list_warnings(WarningFilter(regions=("P1", "D11", "D12")))
        flood = tx.list_warnings(WarningFilter(domain_prefix="natural"))
    assert [w.id for w in everything] == ["c", "b", "a"]
    assert [w.id for w in reds] == ["c", "b"]
    assert sorted(w.id for w in p1) == ["a", "b"]
    assert len(flood) == 3
    assert everything[0].first_seen_at.tzinfo is not None


def test_only_one_open_warning_per_fingerprint(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.save_warning(make_warning("a", fp="same"), new=True)

    def save_twin() -> None:
        with store.transaction() as tx:
            tx.save_warning(make_warning("b", fp="same"), new=True)

    with pytest.raises(Conflict):
        save_twin()


def test_events_are_idempotent(store: SqlStore) -> None:
    e = Event("ops", "X-1", T0, "D11", "fire", Level.ORANGE, "Warehouse fire")  # type: ignore[arg-type]
    with store.transaction() as tx:
        assert tx.insert_events([e, e], received_at=T0) == 1
    with store.transaction() as tx:
        assert tx.insert_events([e], received_at=T0) == 0
        assert [r["external_id"] for r in tx.list_events()] == ["X-1"]


def test_audit_and_tokens(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.append_audit(
            [
                AuditRecord(
                    T0, "alice", "warning.acknowledged", "warning", "w1", "seen", {"level": "red"}
                )
            ]
        )
        tx.save_user(User(UserName("alice"), Role.DUTY_OFFICER), now=T0)
        tx.add_token("h1", user="alice", label="t", now=T0)
    with store.transaction() as tx:
        trail = tx.audit_for("warning", "w1")
        user = tx.user_for_token("h1")
        nobody = tx.user_for_token("h2")
    assert [(r.actor, r.reason, dict(r.details)) for r in trail] == [
        ("alice", "seen", {"level": "red"})
    ]
    assert user == User(UserName("alice"), Role.DUTY_OFFICER)
    assert nobody is None


def test_rows_marked_new_that_are_stored_already_fall_back_to_the_upsert(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.write_observations(batch([0, 1], [100, 100], [1.0, 2.0]), new=np.array([True, True]))
    # a wrong hint (row 0 is stored already) must not fail the batch nor duplicate the row
    with store.transaction() as tx:
        tx.write_observations(batch([0, 1], [100, 200], [1.5, 3.0]), new=np.array([True, True]))
        tx.write_observations(batch([2], [100], [4.0]), new=np.array([True]))
    with store.transaction() as tx:
        assert tx.count_observations() == 4
        assert tx.read_observations(0).values.tolist() == [1.5]


WEEK = 7 * 86_400


def test_a_key_written_twice_in_one_transaction_keeps_the_later_value(store: SqlStore) -> None:
    # both writes are held back and written together; the later value of a key is kept
    with store.transaction() as tx:
        tx.write_observations(batch([0, 1], [100, 100], [1.0, 2.0]))
        tx.write_observations(batch([0, 0], [100, 160], [1.5, 1.7]))
    with store.transaction() as tx:
        assert tx.count_observations() == 3
        got = tx.read_observations(0)
    assert got.times.tolist() == [100, 160]
    assert got.values.tolist() == [1.5, 1.7]


def test_a_transaction_reads_what_it_wrote(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.write_observations(batch([0, 0], [100, 200], [1.0, 2.0]))
        assert tx.read_observations(0).values.tolist() == [1.0, 2.0]
        tx.write_observations(batch([0], [300], [3.0]))  # after the read: same week again
        assert tx.count_observations() == 3


def test_one_batch_over_weeks_old_and_new(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.write_observations(batch([0], [WEEK + 10], [1.0]))
    spread = batch([0, 0, 1, 1], [WEEK + 10, 3 * WEEK, -5, WEEK + 20], [9.0, 2.0, 3.0, 4.0])
    with store.transaction() as tx:
        tx.write_observations(spread, new=np.array([False, True, True, True]))
    with store.transaction() as tx:
        assert tx.count_observations() == 4
        assert tx.read_observations(0).times.tolist() == [WEEK + 10, 3 * WEEK]
        assert tx.read_observations(0).values.tolist() == [9.0, 2.0]
        assert tx.read_observations(1).times.tolist() == [-5, WEEK + 20]


def test_last_processed_times_are_the_newest_stored_per_indicator(store: SqlStore) -> None:
    # indicator 0 in weeks 1 and 3, indicator 1 in week 1 only (older weeks are probed only for
    # the indicators missing from newer ones), indicator 2 never observed
    with store.transaction() as tx:
        tx.write_observations(batch([0, 1, 1], [WEEK + 5, WEEK + 60, WEEK + 7], [1.0, 1.0, 1.0]))
    with store.transaction() as tx:
        tx.write_observations(batch([0, 0], [3 * WEEK + 1, 3 * WEEK + 9], [2.0, 2.0]))
    with store.transaction() as tx:
        state = tx.load_threshold_state(3)
    fresh = ThresholdState.empty(3).last_time[2]
    assert state.last_time.tolist() == [3 * WEEK + 9, WEEK + 60, fresh]


def test_observations_are_written_only_in_a_store_transaction(store: SqlStore) -> None:
    with store.engine.begin() as conn, pytest.raises(RuntimeError, match="only in"):
        SqlSession(conn).write_observations(batch([0], [100], [1.0]))
