"""The public alert and CAP import stores' contract, run on the in-memory reference store,
SQLite and PostgreSQL: the same answers from all three."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import make_warning, transition
from tocsin.bootstrap import Stores
from tocsin.core.cap.imports import ImportedAlert
from tocsin.core.cap.lifecycle import AlertState, PublicAlert
from tocsin.core.cap.message import (
    Alert,
    Area,
    Certainty,
    Info,
    MsgType,
    NamedValue,
    Scope,
    Severity,
    Status,
    Urgency,
)
from tocsin.core.errors import Conflict
from tocsin.core.levels import Level
from tocsin.ports.cap_imports import SourceState
from tocsin.ports.public_alerts import AlertQuery, FeedQuery

T = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def message(identifier: str, *, languages: tuple[str, ...] = ("en-GB", "fr-FR")) -> Alert:
    infos = tuple(
        Info(
            categories=("Met",),
            event="Flood",
            urgency=Urgency.IMMEDIATE,
            severity=Severity.EXTREME,
            certainty=Certainty.OBSERVED,
            language=lang,
            expires=T + 6 * HOUR,
            headline=f"headline {lang}",
            parameters=(NamedValue("WARNING_LEVEL", "red"),),
            areas=(Area("D11", polygons=("45,10 45,11 46,11 46,10 45,10",)),),
        )
        for lang in languages
    )
    return Alert(identifier, "cap@x", T, Status.ACTUAL, MsgType.ALERT, Scope.PUBLIC, infos=infos)


def alert(identifier: str, **overrides: object) -> PublicAlert:
    base = PublicAlert(
        identifier=identifier,
        state=AlertState.DRAFT,
        message=message(identifier),
        thread=identifier,
        regions=("D11",),
        domain="natural.flood",
        level=Level.RED,
        authors=("alice",),
        created_at=T,
        updated_at=T,
        expires_at=T + 6 * HOUR,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def published(identifier: str, **overrides: object) -> PublicAlert:
    fields = {"state": AlertState.PUBLISHED, "published_at": T, "xml": "<alert/>", **overrides}
    return alert(identifier, **fields)


def put(stores: Stores, *alerts: PublicAlert, entries: bool = True) -> None:
    with stores.alerting.transaction() as tx:
        for a in alerts:
            tx.public_alerts.add(replace(a, state=AlertState.DRAFT))
    with stores.alerting.transaction() as tx:
        for a in alerts:
            lang = {
                "*": f"<entry>{a.identifier}</entry>",
                "fr-fr": f"<entry>fr {a.identifier}</entry>",
            }
            tx.public_alerts.save(a, entries=lang if entries else None)


def test_an_alert_round_trips_and_an_identifier_is_taken_once(stores: Stores) -> None:
    draft = alert("a1", warning_id="w1", reason="drafted")
    with stores.alerting.transaction() as tx:
        tx.public_alerts.add(draft)
    with stores.alerting.transaction() as tx:
        assert tx.public_alerts.get("a1") == draft
        assert tx.public_alerts.get("nope") is None
    with pytest.raises(Conflict), stores.alerting.transaction() as tx:
        tx.public_alerts.add(draft)
    done = replace(draft, state=AlertState.PUBLISHED, xml="<alert/>", published_at=T, auto=True)
    with stores.alerting.transaction() as tx:
        tx.public_alerts.save(done, entries={"*": "<entry/>"})
    with stores.alerting.transaction() as tx:
        assert tx.public_alerts.get("a1") == done


def test_find_filters_by_state_warning_and_thread_newest_change_first(stores: Stores) -> None:
    put(
        stores,
        alert("a1", updated_at=T, warning_id="w1"),
        alert("a2", updated_at=T + HOUR, warning_id="w1", thread="a1"),
        alert("a3", updated_at=T + 2 * HOUR, state=AlertState.SUBMITTED, warning_id="w2"),
    )
    with stores.alerting.transaction() as tx:
        find = tx.public_alerts.find
        assert [a.identifier for a in find(AlertQuery())] == ["a3", "a2", "a1"]
        assert [a.identifier for a in find(AlertQuery(warning_id="w1"))] == ["a2", "a1"]
        assert [a.identifier for a in find(AlertQuery(thread="a1"))] == ["a2", "a1"]
        states = (AlertState.SUBMITTED,)
        assert [a.identifier for a in find(AlertQuery(states=states))] == ["a3"]
        assert [a.identifier for a in find(AlertQuery(limit=1))] == ["a3"]


def test_about_names_the_warnings_some_public_alert_is_about(stores: Stores) -> None:
    put(
        stores,
        alert("a1", warning_id="w1"),
        alert("a2", warning_id="w1", thread="a1", state=AlertState.WITHDRAWN),
        published("a3", warning_id="w2"),
        alert("a4"),  # about no warning
    )
    with stores.alerting.transaction() as tx:
        assert tx.public_alerts.about(["w1", "w2", "w3"]) == {"w1", "w2"}
        assert tx.public_alerts.about(["w3"]) == set()
        assert tx.public_alerts.about([]) == set()
        many = [f"x{i}" for i in range(1_200)] + ["w2"]  # more ids than one lookup holds
        assert tx.public_alerts.about(many) == {"w2"}


def test_the_current_message_of_a_thread_is_the_published_one(stores: Stores) -> None:
    put(
        stores,
        published("a1", state=AlertState.SUPERSEDED),
        published("a2", thread="a1", published_at=T + HOUR),
        alert("a3", thread="a1"),
    )
    with stores.alerting.transaction() as tx:
        current = tx.public_alerts.current("a1")
        assert current is not None
        assert current.identifier == "a2"
        assert tx.public_alerts.current("other") is None


def test_the_feed_holds_active_alerts_by_language_region_domain_and_level(
    stores: Stores,
) -> None:
    put(
        stores,
        published("red", published_at=T),
        published("old", published_at=T, expires_at=T + HOUR / 2),
        published("orange", level=Level.ORANGE, published_at=T + HOUR / 4, regions=("D21",)),
        published("gone", state=AlertState.SUPERSEDED),
        published("power", domain="infrastructure.power", published_at=T + HOUR / 8),
    )
    now = T + HOUR
    with stores.alerting.transaction() as tx:
        page = tx.public_alerts.feed_page

        def ids(query: FeedQuery) -> list[str]:
            return page(query, now)

        assert ids(FeedQuery()) == ["orange", "power", "red"]  # newest publication first
        assert ids(FeedQuery(regions=("D11", "D12"))) == ["power", "red"]
        assert ids(FeedQuery(domains=("natural.flood",))) == ["orange", "red"]
        assert ids(FeedQuery(levels=("orange",))) == ["orange"]
        assert ids(FeedQuery(language="fr-fr")) == ["orange", "power", "red"]
        assert ids(FeedQuery(language="de")) == []
        assert ids(FeedQuery(limit=1)) == ["orange"]
        french = tx.public_alerts.entries_of(["red", "old", "nope"], "fr-fr")
        assert french == {"red": "<entry>fr red</entry>", "old": "<entry>fr old</entry>"}
        assert tx.public_alerts.entries_of(["red"], "*") == {"red": "<entry>red</entry>"}
        assert tx.public_alerts.documents_of(["red", "nope"]) == {"red": "<alert/>"}
        version = tx.public_alerts.feed_version(now)
        assert version.active == 3
        assert version.changed_at == T
        active = tx.public_alerts.active(now, limit=10)
        assert [a.identifier for a in active] == ["power", "red", "orange"]  # most severe first
        assert tx.public_alerts.feed_version(T).active == 4  # "old" was still in force


def imported(identifier: str, **overrides: object) -> ImportedAlert:
    base = ImportedAlert(
        sender="met@x",
        identifier=identifier,
        sent=T,
        msg_type=MsgType.ALERT,
        status=Status.ACTUAL,
        thread=f"met@x,{identifier}",
        source="push",
        received_at=T,
        event="Flood",
        headline="h",
        regions=("D21",),
        domain="natural.flood",
        level=Level.RED,
        expires_at=T + HOUR,
        references=(),
        rule="r",
        xml="<alert/>",
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def test_imports_are_known_by_sender_and_identifier_and_heads_end(stores: Stores) -> None:
    first = imported("i1")
    second = imported("i2", thread=first.thread, sent=T + HOUR, expires_at=T + 3 * HOUR)
    with stores.store.transaction() as tx:
        tx.cap_imports.add([first, second, imported("other", sender="y@x", level=None)])
    with stores.store.transaction() as tx:
        known = tx.cap_imports.known([("met@x", "i1"), ("met@x", "nope"), ("y@x", "other")])
        assert set(known) == {("met@x", "i1"), ("y@x", "other")}
        assert known[("met@x", "i1")] == first
        head = tx.cap_imports.live_head(first.thread)
        assert head is not None
        assert head.identifier == "i2"
        tx.cap_imports.end([("met@x", "i2")], at=T + HOUR)
    with stores.store.transaction() as tx:
        head = tx.cap_imports.live_head(first.thread)
        assert head is not None
        assert head.identifier == "i1"
        expired = tx.cap_imports.expired(T + 2 * HOUR, limit=10)
        assert [r.identifier for r in expired] == ["i1", "other"]
        live = tx.cap_imports.find(limit=10, live_only=True)
        assert {r.identifier for r in live} == {"i1", "other"}
        assert len(tx.cap_imports.find(limit=10)) == 3


def test_a_source_state_round_trips(stores: Stores) -> None:
    state = SourceState("nb", "http://nb/feed", '"e1"', "Mon", T, {"id1": "2026"}, None)
    with stores.store.transaction() as tx:
        assert tx.cap_imports.source("nb") is None
        tx.cap_imports.save_source(state)
    with stores.store.transaction() as tx:
        assert tx.cap_imports.source("nb") == state
        tx.cap_imports.save_source(replace(state, etag=None, error="down"))
    with stores.store.transaction() as tx:
        assert tx.cap_imports.source("nb") == replace(state, etag=None, error="down")


def test_public_alerts_keep_their_own_feed_position(stores: Stores) -> None:
    with stores.store.transaction() as tx:
        tx.audit.append([transition(make_warning("w1")), transition(make_warning("w2"))])
    with stores.alerting.transaction() as tx:
        rows = tx.feed.read(10)
        tx.feed.advance([r.id for r in rows])
    with stores.alerting.transaction() as tx:
        assert tx.feed.read(10) == []
        mine = tx.cap_feed.read(10)
        assert [r.warning_id for r in mine] == ["w1", "w2"]
        tx.cap_feed.advance([mine[0].id])
    with stores.alerting.transaction() as tx:
        assert [r.warning_id for r in tx.cap_feed.read(10)] == ["w2"]
