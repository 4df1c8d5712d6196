"""The report service on the memory, SQLite and PostgreSQL stores: clusters become events at
their rule's level, contacts are sealed and deleted on schedule, and no personal field reaches
a table in clear, a log line or a public view."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.services.report_world import report_world
from tocsin.adapters.contact_cipher import AesGcmContactCipher, new_key
from tocsin.adapters.storage.sql.store import SqlStore
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.access import Principal, Scope, restricted, system_principal
from tocsin.core.errors import Forbidden, InvalidConfig, InvalidInput, Overloaded, Unavailable
from tocsin.core.levels import Level
from tocsin.core.reports import HandlingAction, Point
from tocsin.core.users import PERMISSIONS, Role, User, UserName
from tocsin.ports import Store, WarningFilter
from tocsin.ports.reports import ReportQuery
from tocsin.services.reports import ReportPolicy, ReportService, Submission
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import small_config, write_small_config

EMAIL = "someone.private@example.test"
HANDLER = User(UserName("p1"), Role.UNIT_MEMBER, "P1-CP")


@dataclass
class World:
    service: ReportService
    store: Store
    clock: FakeClock


@pytest.fixture
def world(store_url: str, tmp_path: Path) -> Iterator[World]:
    policy = ReportPolicy(coarsen_m=100.0, contact_retention=timedelta(days=30))
    cipher = AesGcmContactCipher(new_key())
    with report_world(store_url, tmp_path / "cfg", policy=policy, cipher=cipher) as made:
        yield World(made.service, made.stores.store, made.clock)


def gas(lat: float, lon: float, *, note: str = "", contact: str | None = None) -> Submission:
    return Submission(
        service="gas_smell",
        point=Point(lat, lon),
        client="app",
        address_range=f"198.51.100.{int(lat * 1000) % 250}/32",
        description=note or f"smell at {lat:.5f} {lon:.5f}",
        attributes={"strength": ["strong"]},
        contact=contact,
    )


def cluster_events(world: World) -> list[tuple[str, Level, int]]:
    with world.store.transaction() as tx:
        events = [s.event for s in tx.events.newest() if s.event.source == "reports"]
    return sorted(((e.region, e.severity, e.attributes["reports"]) for e in events), key=str)


def test_five_gas_reports_close_in_space_and_time_raise_yellow_then_orange(world: World) -> None:
    reports = []
    for i in range(5):
        world.clock.advance(timedelta(minutes=5))
        reports.append(world.service.submit(gas(45.5 + i * 0.0005, 10.5)))  # 55 m apart
    assert len({r.cluster for r in reports}) == 1
    assert cluster_events(world) == [("D11", Level.ORANGE, 5), ("D11", Level.YELLOW, 3)]
    with world.store.transaction() as tx:
        raised = [w for w in tx.warning_search.find(WarningFilter()) if w.source == "reports"]
        trail = [r.kind for r in tx.audit.trail("warning", raised[0].id)]
    assert [(w.region, w.domain, w.level) for w in raised] == [
        ("D11", "supply.energy", Level.ORANGE)
    ]
    assert trail == ["warning.raised", "warning.upgraded"]  # yellow at 3 reports, orange at 5
    far = world.service.submit(gas(45.9, 10.9))  # 50 km away: a cluster of its own
    world.clock.advance(timedelta(hours=2))
    late = world.service.submit(gas(45.5, 10.5, note="later"))  # past the hour's window
    assert far.cluster == far.id
    assert late.cluster == late.id
    assert len(cluster_events(world)) == 2


def _gated(service: ReportService) -> tuple[threading.Event, threading.Event]:
    """Hold the group committer at each commit until the first event is set; the second is
    set when the committer has taken its first group."""
    gate, taken = threading.Event(), threading.Event()
    commit = service.committer.commit

    def held(group: list[Any]) -> list[Any]:
        taken.set()
        gate.wait(timeout=60)
        return commit(group)

    service.committer.commit = held
    return gate, taken


def _queued(service: ReportService, rows: int) -> None:
    deadline = time.monotonic() + 30
    while service.committer.queued_rows != rows and time.monotonic() < deadline:
        time.sleep(0.01)
    assert service.committer.queued_rows == rows


def test_reports_waiting_together_are_stored_in_one_transaction_in_order(world: World) -> None:
    gate, taken = _gated(world.service)
    same = gas(45.5, 10.5, note="smell by the school")
    sent = [gas(45.9, 10.9), same, same, gas(45.5005, 10.5), gas(45.501, 10.5)]
    with ThreadPoolExecutor(len(sent)) as pool:
        first = pool.submit(world.service.submit, sent[0])
        assert taken.wait(timeout=60)  # the committer took it and waits at the gate
        rest = []
        for i, sub in enumerate(sent[1:], start=1):
            rest.append(pool.submit(world.service.submit, sub))
            _queued(world.service, i)  # queued in this order
        assert not any(f.done() for f in [first, *rest])  # nobody answered before the commit
        gate.set()
        answers = [f.result(timeout=60) for f in [first, *rest]]
    stats = world.service.committer.stats
    assert (stats.commits, stats.requests) == (2, 5)
    assert answers[1].id == answers[2].id  # the same submission twice: one tracking number
    assert answers[3].cluster == answers[4].cluster == answers[1].id  # clustered in the group
    assert cluster_events(world) == [("D11", Level.YELLOW, 3)]  # the third raised yellow
    with world.store.transaction() as tx:
        stored = tx.reports.find(ReportQuery(limit=10))
        kinds = [r.kind for r in tx.audit.trail("report", answers[4].id)]
    assert len(stored) == 4
    assert kinds == ["report.received"]


def test_a_full_queue_refuses_a_report_at_once_and_stores_nothing_of_it(world: World) -> None:
    world.service.committer.max_queued_rows = 1
    gate, taken = _gated(world.service)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(world.service.submit, gas(45.5, 10.5))
        assert taken.wait(timeout=60)
        second = pool.submit(world.service.submit, gas(45.6, 10.6))
        _queued(world.service, 1)
        with pytest.raises(Overloaded, match="1 reports are waiting"):
            world.service.submit(gas(45.7, 10.7))
        gate.set()
        stored = [first.result(timeout=60).id, second.result(timeout=60).id]
    with world.store.transaction() as tx:
        assert sorted(r.id for r in tx.reports.find(ReportQuery(limit=10))) == sorted(stored)


def test_a_contact_is_sealed_shown_to_the_handler_only_and_deleted_after_retention(
    world: World,
) -> None:
    report = world.service.submit(gas(45.5, 10.5, contact=EMAIL))
    assert world.service.handler_view(report.id, user=HANDLER).contact == EMAIL
    other = User(UserName("p2"), Role.UNIT_MEMBER, "P2-CP")
    with pytest.raises(Forbidden):
        world.service.handler_view(report.id, user=other)
    world.clock.advance(timedelta(days=29))
    assert world.service.delete_due_contacts() == 0
    world.clock.advance(timedelta(days=1))
    assert world.service.delete_due_contacts() == 1
    view = world.service.handler_view(report.id, user=HANDLER)
    assert view.contact is None
    assert view.report.has_contact is False
    assert view.report.description == report.description  # the report stays


def test_a_copy_with_another_reporters_contact_is_a_report_of_its_own(world: World) -> None:
    first = world.service.submit(gas(45.5, 10.5, note="gas by the well"))
    retry = world.service.submit(gas(45.5, 10.5, note="gas by the well", contact=EMAIL))
    assert retry.id == first.id  # a retry that adds a contact: sealed for the first report
    assert retry.has_contact
    again = world.service.submit(
        gas(45.5, 10.5, note="gas by the well", contact=" Someone.PRIVATE@example.test")
    )
    assert again.id == first.id  # the same contact (case and spaces aside)
    other = world.service.submit(
        gas(45.5, 10.5, note="gas by the well", contact="other@example.test")
    )
    assert other.id != first.id  # another reporter: told of its own report's progress
    assert world.service.handler_view(first.id, user=HANDLER).contact == EMAIL
    assert world.service.handler_view(other.id, user=HANDLER).contact == "other@example.test"
    anonymous = world.service.submit(gas(45.5, 10.5, note="gas by the well"))
    assert anonymous.id in {first.id, other.id}  # a copy without a contact adds no report


def test_copies_with_contacts_in_one_group_keep_each_reporter(world: World) -> None:
    gate, taken = _gated(world.service)
    note = "gas by the mill"
    sent = [
        gas(45.9, 10.9),
        gas(45.5, 10.5, note=note),
        gas(45.5, 10.5, note=note, contact=EMAIL),
        gas(45.5, 10.5, note=note, contact="other@example.test"),
        gas(45.5, 10.5, note=note, contact="OTHER@example.test"),
    ]
    with ThreadPoolExecutor(len(sent)) as pool:
        pool.submit(world.service.submit, sent[0])
        assert taken.wait(timeout=60)
        rest = []
        for i, sub in enumerate(sent[1:], start=1):
            rest.append(pool.submit(world.service.submit, sub))
            _queued(world.service, i)
        gate.set()
        answers = [f.result(timeout=60) for f in rest]
    assert answers[0].id == answers[1].id  # the contact came with the retry
    assert answers[2].id == answers[3].id != answers[0].id
    assert world.service.handler_view(answers[0].id, user=HANDLER).contact == EMAIL
    assert world.service.handler_view(answers[2].id, user=HANDLER).contact == "other@example.test"


@pytest.mark.parametrize(("contact", "named"), [(EMAIL, "email"), ("+390551234567", "phone")])
def test_without_a_contact_key_a_contact_is_refused_naming_its_field(
    tmp_path: Path, contact: str, named: str
) -> None:
    policy = ReportPolicy(contact_retention=timedelta(days=30))
    with report_world("memory://", tmp_path / "cfg", policy=policy, cipher=None) as made:
        with pytest.raises(InvalidInput) as err:
            made.service.submit(gas(45.5, 10.5, contact=contact))
        ((problem),) = err.value.problems
        assert (problem.field, problem.reason) == (
            named,
            "this server takes no contact details (no TOCSIN_REPORT_CONTACT_KEY)",
        )
        with made.stores.store.transaction() as tx:
            assert tx.reports.find(ReportQuery(limit=10)) == []


def test_a_token_narrowed_away_from_the_report_does_not_handle_it(world: World) -> None:
    report = world.service.submit(gas(45.5, 10.5, contact=EMAIL))  # D11, P1-CP's
    scope = Scope(frozenset({"P1", "D11", "D12"}), None, "P1")
    member = Principal("p1", Role.UNIT_MEMBER, PERMISSIONS[Role.UNIT_MEMBER], scope, "P1-CP")
    assert [r.id for r in world.service.for_unit(member, ReportQuery())] == [report.id]
    to_d12 = restricted(member, scope=Scope(frozenset({"D12"}), None, "D12"))
    assert world.service.for_unit(to_d12, ReportQuery()) == []
    with pytest.raises(Forbidden, match="handled by another unit"):
        world.service.handler_view(report.id, user=to_d12)
    to_water = restricted(member, scope=Scope(None, frozenset({"supply.water"}), "water"))
    with pytest.raises(Forbidden):
        world.service.act(report.id, HandlingAction.ACKNOWLEDGE, user=to_water)
    world.service.act(report.id, HandlingAction.CLOSE, user=HANDLER, note="done")


def test_no_personal_field_in_clear_in_any_table_log_or_public_view(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    report = world.service.submit(gas(45.51234, 10.51234, note="strong smell", contact=EMAIL))
    world.service.act(report.id, HandlingAction.ACKNOWLEDGE, user=HANDLER)
    public, updates = world.service.public(report.id)
    listed = world.service.find(ReportQuery())
    assert public.point != report.point
    assert public.client == ""
    assert public.fingerprint == ""
    shown = repr((public, updates, listed))
    assert EMAIL not in shown
    assert "45.51234" not in shown
    assert EMAIL not in caplog.text
    for row in everything_stored(world.store):
        assert EMAIL not in row
        assert EMAIL.encode().hex() not in row


def everything_stored(store: Store) -> list[str]:
    """Every stored row as text (SQL: every table of the database; memory: its state)."""
    if not isinstance(store, SqlStore):
        return [repr(vars(store.state))]  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        names = [
            r[0]
            for r in conn.execute(
                text("SELECT name FROM sqlite_master WHERE type='table'")
                if store.engine.dialect.name == "sqlite"
                else text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
        ]
        return [
            repr(tuple(row)) for n in names for row in conn.execute(text(f'SELECT * FROM "{n}"'))
        ]


def test_a_contact_cannot_be_opened_with_another_key_or_moved_to_another_report() -> None:
    cipher = AesGcmContactCipher(new_key())
    sealed = cipher.seal(EMAIL, report_id="r1")
    assert EMAIL.encode() not in sealed
    assert cipher.open(sealed, report_id="r1") == EMAIL
    with pytest.raises(Unavailable):
        cipher.open(sealed, report_id="r2")
    with pytest.raises(Unavailable):
        AesGcmContactCipher(new_key()).open(sealed, report_id="r1")
    with pytest.raises(InvalidConfig, match="32 bytes"):
        AesGcmContactCipher("too-short")


def test_report_counts_feed_the_indicator_the_catalogue_declares(tmp_path: Path) -> None:
    docs = small_config()
    docs["indicators.yaml"]["indicators"].append(
        {
            "code": "D11.reports.gas_smell",
            "name": "Gas smell reports in D11 (last hour)",
            "region": "D11",
            "domain": "supply.energy",
            "unit": "reports",
            "thresholds": {"yellow": 2.0, "red": 10.0},
        }
    )
    config = write_small_config(tmp_path / "cfg", **docs)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 't.db'}", config_dir=config)
    container = build(settings, clock=FakeClock())
    try:
        for i in range(3):
            container.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
            container.reports.submit(gas(45.1 + i * 0.2, 10.5))  # far apart: no cluster
        container.reports.submit(gas(45.5, 11.5))  # D12: not counted
        container.committer.close()  # commit what is queued
        found = container.warnings.find(limit=10, principal=system_principal("test"))
        with container.store.transaction() as tx:
            counted = tx.observations.read(container.rules.ids["D11.reports.gas_smell"])
    finally:
        container.close()
    assert counted.values.tolist() == [1.0, 2.0, 3.0]
    assert [(w.subject, w.level) for w in found] == [("D11.reports.gas_smell", Level.YELLOW)]
