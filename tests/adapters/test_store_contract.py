"""The foundation store's contract, run on the in-memory reference store, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.factories import T0, make_batch, make_warning, transition
from tocsin.adapters.config_yaml import load_catalog
from tocsin.adapters.storage import sqlite_writer
from tocsin.adapters.storage.engine import make_engine, migrate
from tocsin.bootstrap import Stores
from tocsin.core.audit import AuditRecord
from tocsin.core.audit_chain import GENESIS, Head, link, verify
from tocsin.core.credentials import ApiToken, CredentialState, SignIn, SignInMethod
from tocsin.core.domains import DomainCode
from tocsin.core.errors import Conflict
from tocsin.core.events import Event
from tocsin.core.levels import Level
from tocsin.core.rules.thresholds import ThresholdState
from tocsin.core.users import Permission, Role, User, UserName
from tocsin.core.warnings.model import EventKind, Warning, WarningState
from tocsin.ports import Store, WarningFilter
from tocsin.testing.scenario import small_config, write_small_config

WEEK = 7 * 86_400


@pytest.fixture
def store(stores: Stores) -> Store:
    return stores.store


def test_migrations_are_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    migrate(engine)
    engine.dispose()


def test_observations_upsert_by_indicator_and_time(store: Store) -> None:
    with store.transaction() as tx:
        tx.observations.write(make_batch([0, 0, 1], [100, 200, 100], [1.0, 2.0, 3.0]))
    with store.transaction() as tx:
        tx.observations.write(make_batch([0, 0, 1], [100, 200, 100], [1.0, 2.5, 3.0]))
    with store.transaction() as tx:
        assert tx.observations.count() == 3
        got = tx.observations.read(0)
        since = tx.observations.read(0, since=150)
    assert got.times.tolist() == [100, 200]
    assert got.values.tolist() == [1.0, 2.5]
    assert since.times.tolist() == [200]


def test_a_failed_transaction_stores_nothing(store: Store) -> None:
    def fail_midway() -> None:
        with store.transaction() as tx:
            tx.observations.write(make_batch([0], [100], [1.0]))
            tx.warnings.save([make_warning("a")], new=True)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_midway()
    with store.transaction() as tx:
        assert tx.observations.count() == 0
        assert tx.warnings.get("a") is None


def test_catalog_ids_are_stable_across_reloads(store: Store, tmp_path: Path) -> None:
    docs = small_config()
    docs["indicators.yaml"]["indicators"].reverse()
    docs["indicators.yaml"]["indicators"].append(
        {"code": "NEW.one", "name": "new", "region": "D21", "domain": "fire"}
    )
    with store.transaction() as tx:
        before = tx.catalog.indicator_ids()
        after = tx.catalog.sync(load_catalog(write_small_config(tmp_path / "c2", **docs)))
        stored = tx.catalog.stored()
    assert all(after[code] == ident for code, ident in before.items())
    assert after["NEW.one"] == max(before.values()) + 1
    assert stored is not None
    assert [i.code for i in stored.indicators] == sorted(after, key=after.__getitem__)
    assert stored.regions.regions["D11"].geometry is not None  # type: ignore[index]


def test_threshold_state_round_trips(store: Store) -> None:
    state = ThresholdState.empty(5)
    state.level[2] = 3
    state.last_time[2] = 12345
    state.above_since[2] = [1, 2, 3, ThresholdState.empty(1).above_since[0, 0]]
    state.below_since[2, 0] = 99
    with store.transaction() as tx:
        tx.checkpoints.save_thresholds(np.array([2], dtype=np.int64), state)
        tx.checkpoints.save("rules", b"one")
        tx.checkpoints.save("rules", b"two")
    with store.transaction() as tx:
        loaded = tx.checkpoints.load_thresholds(5)
        blob, missing = tx.checkpoints.load("rules"), tx.checkpoints.load("other")
    for name in ("level", "last_time", "above_since", "below_since"):
        assert np.array_equal(getattr(loaded, name), getattr(state, name)), name
    assert (blob, missing) == (b"two", None)


def test_warnings_are_listed_by_severity_then_age(store: Store) -> None:
    with store.transaction() as tx:
        tx.warnings.save([make_warning("a", level=Level.YELLOW)], new=True)
        later = T0 + timedelta(hours=1)
        tx.warnings.save([make_warning("b", level=Level.RED, first_seen_at=later)], new=True)
        tx.warnings.save([make_warning("c", level=Level.RED, region="D21")], new=True)
    with store.transaction() as tx:
        everything = tx.warning_search.find(WarningFilter())
        first = tx.warning_search.find(WarningFilter(limit=1))
        second_page = tx.warning_search.find(WarningFilter(limit=2, offset=1))
        past_the_end = tx.warning_search.find(WarningFilter(offset=3))
        reds = tx.warning_search.find(WarningFilter(levels=("red",)))
        p1 = tx.warning_search.find(WarningFilter(regions=("P1", "D11", "D12")))
        flood = tx.warning_search.find(WarningFilter(domain_prefix="natural"))
    assert [w.id for w in everything] == ["c", "b", "a"]
    assert [w.id for w in first] == ["c"]
    assert [w.id for w in second_page] == ["b", "a"]
    assert past_the_end == []
    assert [w.id for w in reds] == ["c", "b"]
    assert sorted(w.id for w in p1) == ["a", "b"]
    assert len(flood) == 3
    assert everything[0].first_seen_at.tzinfo is not None


def test_only_one_open_warning_per_fingerprint(store: Store) -> None:
    with store.transaction() as tx:
        tx.warnings.save([make_warning("a", fingerprint="same")], new=True)

    def save_twin() -> None:
        with store.transaction() as tx:
            tx.warnings.save([make_warning("b", fingerprint="same")], new=True)

    with pytest.raises(Conflict):
        save_twin()
    lifted = make_warning("a", fingerprint="same", state=WarningState.LIFTED)
    with store.transaction() as tx:
        tx.warnings.save([lifted], new=False)
        tx.warnings.save([make_warning("b", fingerprint="same")], new=True)
        assert {w.id for w in tx.warnings.open_by_fingerprint(["same"]).values()} == {"b"}


def test_warnings_by_id_region_and_last_seen(store: Store) -> None:
    with store.transaction() as tx:
        tx.warnings.save([make_warning("a"), make_warning("b", region="D21")], new=True)
        tx.warnings.touch({make_warning("a").id: T0 + timedelta(minutes=5)})
    with store.transaction() as tx:
        found = tx.warnings.by_ids(["a", "missing", "b"])
        in_d21 = tx.warnings.open_in_regions(["D21", "P2"])
    assert sorted(found) == ["a", "b"]
    assert found["a"].last_seen_at == T0 + timedelta(minutes=5)
    assert [w.id for w in in_d21] == ["b"]


def test_open_warnings_in_many_regions_are_those_of_the_regions_asked(store: Store) -> None:
    """A warning over a nation asks for its every cell: past a few thousand regions the SQL
    stores read the open warnings once instead of by IN lists; the answer is the same."""
    lifted = make_warning("c", region="R2", fingerprint="c", state=WarningState.LIFTED)
    with store.transaction() as tx:
        tx.warnings.save(
            [
                make_warning("a", region="R1", fingerprint="a"),
                make_warning("b", region="R4999", fingerprint="b"),
                lifted,
                make_warning("d", region="elsewhere", fingerprint="d"),
            ],
            new=True,
        )
    many = [f"R{i}" for i in range(5_000)]
    with store.transaction() as tx:
        assert sorted(w.id for w in tx.warnings.open_in_regions(many)) == ["a", "b"]
        assert sorted(w.id for w in tx.warnings.open_in_regions(many[:3])) == ["a"]
        assert [w.id for w in tx.warnings.open_in_regions(["elsewhere"] * 3)] == ["d"]


def test_a_warning_id_prefix_is_resolved(store: Store) -> None:
    ids = ["ab12", "ab34", "ac00", "b000"]
    with store.transaction() as tx:
        tx.warnings.save([make_warning(i) for i in ids], new=True)
        tx.warnings.save([make_warning("ab34", state=WarningState.LIFTED)], new=False)
    with store.transaction() as tx:
        search = tx.warning_search
        assert [w.id for w in search.with_prefix("ab", open_only=False, limit=5)] == ids[:2]
        assert [w.id for w in search.with_prefix("ab", open_only=True, limit=5)] == ["ab12"]
        assert [w.id for w in search.with_prefix("ab3", open_only=False, limit=5)] == ["ab34"]
        assert search.with_prefix("abz", open_only=False, limit=5) == []
        assert len(search.with_prefix("", open_only=False, limit=3)) == 3


def test_the_open_fingerprints_of_a_source_in_a_domain_subtree_are_listed(store: Store) -> None:
    def exposure(
        ident: str, domain: str = "infrastructure.cyber", state: WarningState = WarningState.ACTIVE
    ) -> Warning:
        return make_warning(ident, source="exposure", domain=DomainCode(domain), state=state)

    with store.transaction() as tx:
        tx.warnings.save(
            [
                exposure("a"),
                exposure("b", "infrastructure.cyber.ot"),
                exposure("c", state=WarningState.LIFTED),
                exposure("d", "infrastructure.cybernetics"),
                make_warning("e", domain=DomainCode("infrastructure.cyber")),  # another source
            ],
            new=True,
        )
    with store.transaction() as tx:
        search = tx.warning_search
        cyber_fps = search.open_fingerprints("exposure", domain_prefix="infrastructure.cyber")
        every = search.open_fingerprints("exposure", domain_prefix=None)
        none = search.open_fingerprints("nobody", domain_prefix=None)
    assert cyber_fps == ["fp-a", "fp-b"]  # not lifted, not a sibling whose name starts alike
    assert every == ["fp-a", "fp-b", "fp-d"]
    assert none == []


def test_the_open_spans_of_a_source_are_read_with_their_last_post(store: Store) -> None:
    """The expiry of Prometheus alerts reads three columns: last seen and one explanation key."""
    later = T0 + timedelta(minutes=3)

    def alert(
        ident: str, span: object, *, seen: datetime = T0, state: WarningState = WarningState.ACTIVE
    ) -> Warning:
        explanation = {"rule": "prometheus"} if span is None else {"valid_for_s": span}
        return make_warning(
            ident, source="prometheus", explanation=explanation, last_seen_at=seen, state=state
        )

    with store.transaction() as tx:
        tx.warnings.save(
            [
                alert("a", 300.0),
                alert("b", 60, seen=later),
                alert("c", None),  # raised before spans were kept
                alert("d", 300.0, state=WarningState.LIFTED),
                make_warning("e", explanation={"valid_for_s": 5.0}),  # another source
            ],
            new=True,
        )
    with store.transaction() as tx:
        spans = tx.warning_search.open_spans("prometheus", "valid_for_s")
    assert spans == {"fp-a": (T0, 300.0), "fp-b": (later, 60), "fp-c": (T0, None)}
    assert all(seen.utcoffset() == timedelta(0) for seen, _ in spans.values())


def test_warnings_are_counted_by_level_state_and_region(store: Store) -> None:
    with store.transaction() as tx:
        tx.warnings.save(
            [
                make_warning("a", level=Level.RED),
                make_warning("b", level=Level.RED, state=WarningState.ACKNOWLEDGED),
                make_warning("c", level=Level.RED, region="D21"),
                make_warning("d", state=WarningState.LIFTED),
                make_warning("e", region="D21"),
            ],
            new=True,
        )
    with store.transaction() as tx:
        open_ = tx.warning_search.counts(open_only=True)
        every = tx.warning_search.counts(open_only=False)
        regions = tx.warning_search.open_counts_by_region()
    assert open_ == {("red", "active"): 2, ("red", "acknowledged"): 1, ("yellow", "active"): 1}
    assert every == {**open_, ("yellow", "lifted"): 1}
    assert regions == {("D11", "red"): 2, ("D21", "red"): 1, ("D21", "yellow"): 1}


def test_an_indicators_transitions_come_from_its_warnings(store: Store) -> None:
    raised = make_warning("a")
    other = make_warning("b", subject="D21.reservoir", fingerprint="other")
    upgraded = make_warning("a", level=Level.RED, updated_at=T0 + timedelta(minutes=1))
    with store.transaction() as tx:
        tx.warnings.save([raised, other], new=True)
        tx.audit.append([transition(raised), transition(other)])
        tx.warnings.save([upgraded], new=False)
        tx.audit.append([transition(upgraded, EventKind.UPGRADED)])
    with store.transaction() as tx:
        found = tx.warning_search.transitions_of("D11.river_level")
        none = tx.warning_search.transitions_of("nothing")
    assert [(r.subject_id, r.kind, r.details["to_level"]) for r in found] == [
        ("a", "warning.raised", "yellow"),
        ("a", "warning.upgraded", "red"),
    ]
    assert none == []


def test_events_are_idempotent(store: Store) -> None:
    e = Event("ops", "X-1", T0, "D11", "fire", Level.ORANGE, "Warehouse fire")  # type: ignore[arg-type]
    with store.transaction() as tx:
        assert tx.events.insert([e, e], received_at=T0) == 1
    with store.transaction() as tx:
        assert tx.events.insert([e], received_at=T0) == 0
        (stored,) = tx.events.newest()
    assert stored.event == e
    assert stored.received_at == T0


def test_whether_records_of_a_subject_type_came_after_an_id(store: Store) -> None:
    def record(subject_type: str, ident: str) -> AuditRecord:
        return AuditRecord(T0, "alice", "x.changed", subject_type, ident, "why")

    with store.transaction() as tx:
        assert tx.audit.moved("warning", after_id=-1) == (0, False)
        tx.audit.append([record("warning", "w1"), record("report", "r1")])
    with store.transaction() as tx:
        top, from_start = tx.audit.moved("warning", after_id=-1)
        tx.audit.append([record("report", "r2")])  # a report's record is no warning's
    with store.transaction() as tx:
        reports_only = tx.audit.moved("warning", after_id=top)
        tx.audit.append([record("warning", "w2"), record("task", "t1")])
    with store.transaction() as tx:
        later = tx.audit.moved("warning", after_id=reports_only[0])
        none_since = tx.audit.moved("warning", after_id=later[0])
        ids = [s.id for s in tx.audit.stored()]
    assert from_start is True
    assert reports_only == (ids[2], False)
    assert later == (ids[4], True)
    assert none_since == (ids[4], False)
    assert top == ids[1]


def test_audit_users_and_passwords(store: Store) -> None:
    record = AuditRecord(
        T0, "alice", "warning.acknowledged", "warning", "w1", "seen", {"level": "red"}
    )
    with store.transaction() as tx:
        tx.audit.append([record])
        tx.users.save(User(UserName("alice"), Role.DUTY_OFFICER), now=T0)
        tx.users.save(User(UserName("alice"), Role.ANALYST, "NAT"), now=T0)
        tx.users.set_password("alice", "argon2-hash")
    with store.transaction() as tx:
        trail = tx.audit.trail("warning", "w1")
        user = tx.users.get("alice")
        listed = tx.users.listing()
        password = tx.users.password_hash("alice")
        nobody = tx.users.get("bob")
        head = tx.audit.head()
        stored = tx.audit.stored()
    assert [(r.actor, r.reason, dict(r.details)) for r in trail] == [
        ("alice", "seen", {"level": "red"})
    ]
    assert user == User(UserName("alice"), Role.ANALYST, "NAT")
    assert listed == [user]
    assert password == "argon2-hash"
    assert nobody is None
    # every append is chained: positions from 1, the head is the last record's hash
    assert [(s.seq, s.record) for s in stored] == [(1, record)]
    assert head == Head(1, link(GENESIS, 1, record))
    assert verify(stored, head) is None


def test_tokens_and_sign_ins_by_secret_hash(store: Store) -> None:
    token = ApiToken(
        "tk_1",
        "alice",
        "scraper",
        T0,
        T0 + timedelta(days=1),
        frozenset({Permission.READ}),
        ("P1",),
        None,
    )
    other = ApiToken("tk_2", "alice", "cli", T0)
    session = SignIn("alice", SignInMethod.TOKEN, T0, T0 + timedelta(hours=1), "tk_1")
    with store.transaction() as tx:
        tx.users.save(User(UserName("alice"), Role.ANALYST, "NAT"), now=T0)
        tx.credentials.add_token(token, secret_hash="h1")
        tx.credentials.add_token(other, secret_hash="h2")
        tx.credentials.add_sign_in(session, secret_hash="s1")
    with store.transaction() as tx:
        assert tx.credentials.token("h1") == token
        assert tx.credentials.token("nope") is None
        assert [k.id for k in tx.credentials.tokens(user="alice")] == ["tk_1", "tk_2"]
        assert tx.credentials.sign_in("s1") == session
        tx.credentials.revoke_tokens(["tk_1"], now=T0 + timedelta(minutes=5))
    later = T0 + timedelta(minutes=5)
    with store.transaction() as tx:
        revoked = tx.credentials.token("h1")
        ended = tx.credentials.sign_in("s1")  # opened with the revoked token: ended with it
        assert tx.credentials.end_sign_ins(now=later, user="alice") == 0
        assert tx.credentials.forget(before=T0 + timedelta(minutes=6)) == 2
        assert [k.id for k in tx.credentials.tokens()] == ["tk_2"]
    assert revoked is not None
    assert revoked.revoked_at == later
    assert revoked.state(later) == CredentialState.REVOKED
    assert ended is not None
    assert ended.ended_at == later


def test_rows_marked_new_that_are_stored_already_fall_back_to_the_upsert(store: Store) -> None:
    with store.transaction() as tx:
        tx.observations.write(
            make_batch([0, 1], [100, 100], [1.0, 2.0]), new=np.array([1, 1], bool)
        )
    # a wrong hint (row 0 is stored already) must not fail the batch nor duplicate the row
    with store.transaction() as tx:
        tx.observations.write(
            make_batch([0, 1], [100, 200], [1.5, 3.0]), new=np.array([1, 1], bool)
        )
        tx.observations.write(make_batch([2], [100], [4.0]), new=np.array([True]))
    with store.transaction() as tx:
        assert tx.observations.count() == 4
        assert tx.observations.read(0).values.tolist() == [1.5]


def test_a_key_written_twice_in_one_transaction_keeps_the_later_value(store: Store) -> None:
    # both writes may be held back and written together; the later value of a key is kept
    with store.transaction() as tx:
        tx.observations.write(make_batch([0, 1], [100, 100], [1.0, 2.0]))
        tx.observations.write(make_batch([0, 0], [100, 160], [1.5, 1.7]))
    with store.transaction() as tx:
        assert tx.observations.count() == 3
        got = tx.observations.read(0)
    assert got.times.tolist() == [100, 160]
    assert got.values.tolist() == [1.5, 1.7]


def test_a_transaction_reads_what_it_wrote(store: Store) -> None:
    with store.transaction() as tx:
        tx.observations.write(make_batch([0, 0], [100, 200], [1.0, 2.0]))
        assert tx.observations.read(0).values.tolist() == [1.0, 2.0]
        tx.observations.write(make_batch([0], [300], [3.0]))  # after the read: same week again
        assert tx.observations.count() == 3


def test_one_batch_over_weeks_old_and_new(store: Store) -> None:
    with store.transaction() as tx:
        tx.observations.write(make_batch([0], [WEEK + 10], [1.0]))
    spread = make_batch([0, 0, 1, 1], [WEEK + 10, 3 * WEEK, -5, WEEK + 20], [9.0, 2.0, 3.0, 4.0])
    with store.transaction() as tx:
        tx.observations.write(spread, new=np.array([False, True, True, True]))
    with store.transaction() as tx:
        assert tx.observations.count() == 4
        assert tx.observations.read(0).times.tolist() == [WEEK + 10, 3 * WEEK]
        assert tx.observations.read(0).values.tolist() == [9.0, 2.0]
        assert tx.observations.read(1).times.tolist() == [-5, WEEK + 20]


def test_last_processed_times_are_the_newest_stored_per_indicator(store: Store) -> None:
    # indicator 0 in weeks 1 and 3, indicator 1 in week 1 only (older weeks are probed only for
    # the indicators missing from newer ones), indicator 2 never observed
    with store.transaction() as tx:
        tx.observations.write(make_batch([0, 1, 1], [WEEK + 5, WEEK + 60, WEEK + 7], [1.0] * 3))
    with store.transaction() as tx:
        tx.observations.write(make_batch([0, 0], [3 * WEEK + 1, 3 * WEEK + 9], [2.0, 2.0]))
    with store.transaction() as tx:
        state = tx.checkpoints.load_thresholds(3)
    fresh = ThresholdState.empty(3).last_time[2]
    assert state.last_time.tolist() == [3 * WEEK + 9, WEEK + 60, fresh]


def test_settled_observations_read_as_before(
    store: Store, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small writes of every size around SQLite's rows per INSERT (256: 1, 255, 256, 257 and
    # 700 rows), a key written twice; then the upkeep left for later (on SQLite, with its
    # threshold at one row, the inbox merged): reads, counts and newest times are unchanged
    monkeypatch.setattr(sqlite_writer, "SETTLE_AT", 1)
    sizes = [1, 255, 256, 257, 700]
    start = 0
    for n in sizes:
        times = list(range(start, start + n))
        with store.transaction() as tx:
            tx.observations.write(make_batch([0] * n, times, [float(t) for t in times]))
        start += n
    with store.transaction() as tx:
        tx.observations.write(make_batch([1, 0], [7, 3], [70.0, -3.0]))  # 0 at 3: a new value

    def seen() -> tuple[int, list[int], list[float], list[float], list[int]]:
        with store.transaction() as tx:
            zero = tx.observations.read(0)
            return (
                tx.observations.count(),
                zero.times.tolist(),
                zero.values.tolist(),
                tx.observations.read(1).values.tolist(),
                tx.checkpoints.load_thresholds(2).last_time.tolist(),  # the newest of each
            )

    before = seen()
    assert before[0] == start + 1
    assert before[1] == list(range(start))
    assert before[2] == [-3.0 if t == 3 else float(t) for t in range(start)]
    with store.transaction() as tx:
        moved = tx.observations.settle()
    assert moved == (start + 2 if store_url.startswith("sqlite") else 0)
    with store.transaction() as tx:
        assert tx.observations.settle() == 0  # nothing left
    assert seen() == before


def test_small_and_bulk_writes_keep_the_newest_value_of_each_key(store: Store) -> None:
    # on SQLite small writes are appended to the inbox and bulk ones merge it first: whichever
    # way a key went, the value written last is the one read, counted once
    bulk = 120_000
    with store.transaction() as tx:
        tx.observations.write(make_batch([0, 0], [100, 200], [1.0, 2.0]))
    with store.transaction() as tx:
        tx.observations.write(make_batch([0], [100], [1.5]))
    times = np.arange(bulk, dtype=np.int64) + 150
    with store.transaction() as tx:
        assert tx.observations.count() == 2
        tx.observations.write(make_batch([1] * bulk, times.tolist(), [7.0] * bulk))
        tx.observations.write(make_batch([0], [200], [2.5]))
    with store.transaction() as tx:
        tx.observations.write(make_batch([1], [150], [8.0]))
    with store.transaction() as tx:
        assert tx.observations.count() == 2 + bulk
        assert tx.observations.read(0).values.tolist() == [1.5, 2.5]
        first = tx.observations.read(1, until=151)
        state = tx.checkpoints.load_thresholds(2)
    assert first.values.tolist() == [8.0, 7.0]
    assert state.last_time.tolist() == [200, 150 + bulk - 1]
