"""The report store's contract, run on the in-memory reference store, SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import inspect, text

from tocsin.adapters.storage.engine import make_engine, migrate
from tocsin.bootstrap import Stores
from tocsin.core.reports import (
    HandlingAction,
    Photo,
    Point,
    Report,
    ReportId,
    ReportStatus,
    ReportUpdate,
    handle,
)
from tocsin.ports import Store
from tocsin.ports.reports import ReportQuery, SealedContact

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(stores: Stores) -> Store:
    return stores.store


def report(rid: str, *, minute: int = 0, service: str = "gas_smell", **changes: object) -> Report:
    at = T0 + timedelta(minutes=minute)
    base = Report(
        id=ReportId(rid),
        service=service,
        point=Point(45.5, 10.5),
        region="D11",
        unit="P1-CP",
        requested_at=at,
        updated_at=at,
        description=f"report {rid}",
        attributes={"strength": "strong", "kinds": ["a", "b"]},
        client="app",
        fingerprint=f"fp-{rid}",
        cluster=rid,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def found_ids(store: Store, query: ReportQuery) -> list[str]:
    with store.transaction() as tx:
        return [r.id for r in tx.reports.find(query)]


def received(r: Report) -> ReportUpdate:
    return ReportUpdate(r.requested_at, ReportStatus.RECEIVED, "received")


def test_a_report_round_trips_with_its_update_and_photo(store: Store) -> None:
    r = report("a", address="Via Roma 1", has_photo=True)
    photo = Photo("image/png", b"\x89PNG\r\n\x1a\nxyz")
    with store.transaction() as tx:
        tx.reports.add(r, photo=photo, update=received(r))
    with store.transaction() as tx:
        assert tx.reports.get("a") == r
        assert tx.reports.updates("a") == [received(r)]
        assert tx.reports.photo("a") == photo
        assert tx.reports.get("missing") is None
        assert tx.reports.photo("missing") is None


def test_handling_steps_are_saved_and_listed_in_order(store: Store) -> None:
    r = report("a")
    with store.transaction() as tx:
        tx.reports.add(r, photo=None, update=received(r))
    acked, first = handle(r, HandlingAction.ACKNOWLEDGE, now=T0 + timedelta(minutes=5))
    closed, second = handle(
        acked, HandlingAction.CLOSE, now=T0 + timedelta(minutes=9), note="repaired"
    )
    with store.transaction() as tx:
        tx.reports.save(acked, update=first)
        tx.reports.save(closed, update=second)
    with store.transaction() as tx:
        assert tx.reports.get("a") == closed
        notes = [(u.status, u.note) for u in tx.reports.updates("a")]
    assert notes == [
        (ReportStatus.RECEIVED, "received"),
        (ReportStatus.ACKNOWLEDGED, "acknowledged by the responsible unit"),
        (ReportStatus.CLOSED, "repaired"),
    ]


def test_find_filters_by_ids_services_statuses_dates_and_unit(store: Store) -> None:
    rows = [
        report("a", minute=0),
        report("b", minute=10, service="landslide"),
        report("c", minute=20, status=ReportStatus.CLOSED, unit="D11-FLOOD"),
        report("d", minute=30),
    ]
    with store.transaction() as tx:
        for r in rows:
            tx.reports.add(r, photo=None, update=received(r))

    ids = partial(found_ids, store)
    assert ids(ReportQuery()) == ["d", "c", "b", "a"]  # newest first
    assert ids(ReportQuery(ids=("a", "c"), services=("none",))) == ["c", "a"]  # ids override
    assert ids(ReportQuery(services=("landslide",))) == ["b"]
    assert ids(ReportQuery(statuses=(ReportStatus.CLOSED,))) == ["c"]
    since, until = T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)
    assert ids(ReportQuery(start_at=since, end_at=until)) == ["c", "b"]
    assert ids(ReportQuery(unit="D11-FLOOD")) == ["c"]
    assert ids(ReportQuery(limit=2)) == ["d", "c"]


def test_find_by_region_cluster_and_box_and_fingerprint_look_back(store: Store) -> None:
    rows = [
        report("a", minute=0, cluster="k1"),
        report("b", minute=10, cluster="k1", point=Point(45.6, 10.6)),
        report("c", minute=20, cluster="c", region="D12", point=Point(45.5, 11.5)),
        report("d", minute=30, fingerprint="fp-b", cluster="k1"),
    ]
    with store.transaction() as tx:
        for r in rows:
            tx.reports.add(r, photo=None, update=received(r))

    ids = partial(found_ids, store)
    assert ids(ReportQuery(cluster="k1", start_at=T0 + timedelta(minutes=5))) == ["d", "b"]
    assert ids(ReportQuery(region="D12")) == ["c"]
    assert ids(ReportQuery(box=(45.45, 10.45, 45.55, 10.55))) == ["d", "a"]
    assert ids(ReportQuery(box=(45.45, 10.45, 45.65, 11.55), services=("gas_smell",))) == [
        "d",
        "c",
        "b",
        "a",
    ]
    with store.transaction() as tx:
        same = tx.reports.with_fingerprints(["fp-b", "fp-x"], since=T0)
        later = tx.reports.with_fingerprints(["fp-b"], since=T0 + timedelta(minutes=11))
        none = tx.reports.with_fingerprints(["fp-x"], since=T0)
    assert [r.id for r in same] == ["b", "d"]
    assert [r.id for r in later] == ["d"]
    assert none == []


def test_count_is_the_number_find_would_give_without_its_limit(store: Store) -> None:
    rows = [
        report(f"r{i}", minute=i, service="landslide" if i % 3 else "gas_smell") for i in range(9)
    ]
    rows.append(report("x", minute=4, region="D12"))
    with store.transaction() as tx:
        for r in rows:
            tx.reports.add(r, photo=None, update=received(r))
    queries = [
        ReportQuery(),
        ReportQuery(services=("gas_smell",)),
        ReportQuery(services=("gas_smell",), region="D11", start_at=T0 + timedelta(minutes=3)),
        ReportQuery(region="D12"),
        ReportQuery(services=("none",)),
        ReportQuery(limit=2),
    ]
    with store.transaction() as tx:
        counted = [tx.reports.count(q) for q in queries]
        found = [len(tx.reports.find(replace(q, limit=1_000))) for q in queries]
    assert counted == found == [10, 4, 2, 1, 0, 10]  # "x" is a gas smell too


def test_contacts_are_deleted_when_due_and_the_report_stays(store: Store) -> None:
    a, b = report("a", has_contact=True), report("b", has_contact=True)
    with store.transaction() as tx:
        for r in (a, b):
            tx.reports.add(r, photo=None, update=received(r))
        tx.reports.seal_contact(SealedContact("a", b"sealed-a", T0 + timedelta(days=30)))
        tx.reports.seal_contact(SealedContact("b", b"sealed-b", T0 + timedelta(days=60)))
    with store.transaction() as tx:
        assert tx.reports.delete_contacts(T0 + timedelta(days=29)) == []
        assert tx.reports.delete_contacts(T0 + timedelta(days=30)) == ["a"]
    with store.transaction() as tx:
        assert tx.reports.contact("a") is None
        kept = tx.reports.contact("b")
        gone = tx.reports.get("a")
    assert kept == SealedContact("b", b"sealed-b", T0 + timedelta(days=60))
    assert gone is not None
    assert gone.has_contact is False
    assert gone.description == "report a"


def test_a_failed_transaction_leaves_no_report(store: Store) -> None:
    r = report("a")

    def fail_midway() -> None:
        with store.transaction() as tx:
            tx.reports.add(r, photo=None, update=received(r))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_midway()
    with store.transaction() as tx:
        assert tx.reports.get("a") is None
        assert tx.reports.updates("a") == []


def test_nearest_reads_the_closest_clustered_reports_within_the_query_first(store: Store) -> None:
    # at 45.5° N a degree of longitude is about 0.70 of a degree of latitude: "far_lat" is
    # 0.010° away in latitude (1,113 m), "near_lon" 0.012° away in longitude (937 m) — the
    # store orders on that flat projection, not on raw degrees
    rows = [
        report("far_lat", minute=0, point=Point(45.51, 10.5)),
        report("near_lon", minute=1, point=Point(45.5, 10.512)),
        report("closest", minute=2, point=Point(45.5005, 10.5005)),
        report("unclustered", minute=3, cluster=None, point=Point(45.5, 10.5)),
        report("other_kind", minute=4, service="landslide", point=Point(45.5, 10.5)),
        report("too_old", minute=-90, point=Point(45.5, 10.5)),
        report("outside", minute=5, point=Point(45.6, 10.5)),
    ]
    with store.transaction() as tx:
        for r in rows:
            tx.reports.add(r, photo=None, update=received(r))
    query = ReportQuery(
        services=("gas_smell",),
        start_at=T0 - timedelta(minutes=60),
        end_at=T0 + timedelta(minutes=10),
        box=(45.45, 10.45, 45.55, 10.55),
    )
    with store.transaction() as tx:
        (near,) = tx.reports.nearest([(query, Point(45.5, 10.5))], limit=8)
        (two,) = tx.reports.nearest([(query, Point(45.5, 10.5))], limit=2)
    assert [n.id for n in near] == ["closest", "near_lon", "far_lat"]
    assert [n.id for n in two] == ["closest", "near_lon"]
    first = near[0]
    assert (first.point, first.cluster, first.requested_at) == (
        Point(45.5005, 10.5005),
        "closest",
        T0 + timedelta(minutes=2),
    )


def test_nearest_answers_many_queries_in_one_read_each_on_its_own(store: Store) -> None:
    # a group of reports asks for each of its reports at once: every answer is its own query's
    # (its services, window, box and point), in the order asked, past one statement's share
    rows = [
        report("gas_a", minute=0, point=Point(45.5, 10.5)),
        report("gas_b", minute=1, point=Point(45.501, 10.5)),
        report("slide", minute=2, service="landslide", point=Point(45.4995, 10.5)),
        report("gas_far", minute=3, point=Point(46.0, 11.0)),
    ]
    with store.transaction() as tx:
        for r in rows:
            tx.reports.add(r, photo=None, update=received(r))

    def near(services: tuple[str, ...], lat: float, lon: float) -> ReportQuery:
        return ReportQuery(
            services=services,
            start_at=T0 - timedelta(minutes=60),
            end_at=T0 + timedelta(minutes=10),
            box=(lat - 0.05, lon - 0.05, lat + 0.05, lon + 0.05),
        )

    asked = [
        (near(("gas_smell",), 45.5, 10.5), Point(45.5015, 10.5)),
        (near(("landslide", "gas_smell", "rockfall"), 45.5, 10.5), Point(45.4996, 10.5)),
        (near((), 45.5, 10.5), Point(45.5, 10.5)),
        (near(("gas_smell",), 46.0, 11.0), Point(46.0, 11.0)),
        (near(("landslide",), 46.0, 11.0), Point(46.0, 11.0)),
    ] * 5  # 25 queries: more than one statement takes on SQL stores
    with store.transaction() as tx:
        found = tx.reports.nearest(asked, limit=2)
    expected = [["gas_b", "gas_a"], ["slide", "gas_a"], [], ["gas_far"], []] * 5
    assert [[n.id for n in each] for each in found] == expected


def test_cluster_state_counts_open_reports_in_the_window_and_the_newest_linked_incident(
    store: Store,
) -> None:
    linked = partial(report, cluster="k", status=ReportStatus.LINKED)
    rows = [
        report("old", minute=-120, cluster="k"),
        report("open1", minute=0, cluster="k"),
        report("closed", minute=1, cluster="k", status=ReportStatus.CLOSED),
        linked("l1", minute=2, incident="INC-1"),
        linked("l2", minute=3, incident="INC-2"),
        report("elsewhere", minute=4, cluster="j", status=ReportStatus.LINKED, incident="INC-9"),
    ]
    with store.transaction() as tx:
        for r in rows:
            tx.reports.add(r, photo=None, update=received(r))
    since = T0 - timedelta(minutes=60)
    with store.transaction() as tx:
        state = tx.reports.cluster_state("k", since=since)
        later = tx.reports.cluster_state("k", since=T0 + timedelta(minutes=3))
        empty = tx.reports.cluster_state("none", since=since)
    assert (state.open_reports, state.incident) == (3, "INC-2")  # open1, l1, l2
    assert (later.open_reports, later.incident) == (1, "INC-2")
    assert (empty.open_reports, empty.incident) == (0, None)


def test_migration_0032_replaces_the_older_nearby_index(db_url: str) -> None:
    # a database migrated before 0032 has the (service, lat) index; 0032 puts the time in it
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_reports_service_lat_at"))
        conn.execute(text("CREATE INDEX ix_reports_service_lat ON reports (service, lat)"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0031'"))
    migrate(engine)
    indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("reports")}
    engine.dispose()
    assert indexes["ix_reports_service_lat_at"] == ["service", "lat", "requested_at"]
    assert "ix_reports_service_lat" not in indexes


def test_taking_reports_in_waits_for_the_transaction_taking_them_in_before(store: Store) -> None:
    order: list[str] = []

    def second() -> None:
        with store.transaction() as tx:
            tx.reports.take_in()
            order.append("second")

    with store.transaction() as tx:
        tx.reports.take_in()
        other = threading.Thread(target=second)
        other.start()
        time.sleep(0.3)  # the second transaction has asked by now
        order.append("first")
    other.join(timeout=30)
    assert order == ["first", "second"]
