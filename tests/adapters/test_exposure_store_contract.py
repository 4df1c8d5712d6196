"""The exposure store's contract (and events by asset), on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.factories import T0
from tocsin.adapters.vulnerability_feeds import parse_feed
from tocsin.bootstrap import Stores
from tocsin.core.events import Event
from tocsin.core.exposure.advisories import Advisory, Feed
from tocsin.core.exposure.exposures import Patch
from tocsin.core.levels import Level
from tocsin.ports import Store

FIXTURES = Path(__file__).parent.parent / "fixtures" / "exposure"


@pytest.fixture
def store(stores: Stores) -> Store:
    return stores.store


def key(a: Advisory) -> tuple[str, str]:
    return (a.feed.value, a.id)


def fixture_advisories(feed: Feed) -> list[Advisory]:
    return parse_feed(feed, (FIXTURES / f"{feed.value}.json").read_text(), where=feed.value)


def test_advisories_round_trip_whole_and_replace_by_feed_and_id(store: Store) -> None:
    every = [a for feed in Feed for a in fixture_advisories(feed)]
    with store.transaction() as tx:
        assert tx.exposure.put_advisories(every, imported_at=T0) == len(every)
    with store.transaction() as tx:
        stored = tx.exposure.advisories()
    assert sorted(stored, key=key) == sorted(every, key=key)  # nested ranges and dates intact
    changed = replace(every[0], title="amended", due_on=date(2030, 1, 2))
    with store.transaction() as tx:
        tx.exposure.put_advisories([changed], imported_at=T0 + timedelta(days=1))
    with store.transaction() as tx:
        again = {key(a): a for a in tx.exposure.advisories()}
    assert len(again) == len(every)
    assert again[key(changed)] == changed


def test_imported_software_is_replaced_per_asset(store: Store) -> None:
    with store.transaction() as tx:
        tx.exposure.set_software(
            {"SUB": ["pkg:pypi/a@1", "pkg:pypi/b@2"], "WTR": ["pkg:npm/c@3"]}, imported_at=T0
        )
        tx.exposure.set_software({"SUB": ["pkg:pypi/a@1.1"]}, imported_at=T0)
    with store.transaction() as tx:
        assert tx.exposure.imported_software() == {
            "SUB": ("pkg:pypi/a@1.1",),
            "WTR": ("pkg:npm/c@3",),
        }
        tx.exposure.set_software({"WTR": []}, imported_at=T0)
    with store.transaction() as tx:
        assert tx.exposure.imported_software() == {"SUB": ("pkg:pypi/a@1.1",)}


def test_patches_are_kept_one_per_asset_and_advisory(store: Store) -> None:
    first = Patch("SUB", "CVE-1", T0, "alice", "2.4.51")
    with store.transaction() as tx:
        tx.exposure.record_patch(first)
        tx.exposure.record_patch(Patch("HSP", "CVE-1", T0, "bob"))
        tx.exposure.record_patch(replace(first, note="2.4.52", patched_at=T0 + timedelta(hours=1)))
    with store.transaction() as tx:
        got = tx.exposure.patches()
    assert [(p.asset, p.advisory, p.note) for p in got] == [
        ("HSP", "CVE-1", ""),
        ("SUB", "CVE-1", "2.4.52"),
    ]
    assert got[1].patched_at == T0 + timedelta(hours=1)


def test_a_failed_transaction_keeps_no_exposure_record(store: Store) -> None:
    def fail_midway() -> None:
        with store.transaction() as tx:
            tx.exposure.put_advisories(fixture_advisories(Feed.KEV), imported_at=T0)
            tx.exposure.record_patch(Patch("SUB", "CVE-1", T0, "alice"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_midway()
    with store.transaction() as tx:
        assert tx.exposure.advisories() == []
        assert tx.exposure.patches() == []


def test_occurrences_by_asset_source_and_time(store: Store) -> None:
    def event(ident: str, asset: str | None, minutes: int, source: str = "security:wazuh") -> Event:
        at = T0 + timedelta(minutes=minutes)
        return Event(source, ident, at, "D11", "cyber", Level.BLUE, "t", asset=asset)  # type: ignore[arg-type]

    with store.transaction() as tx:
        tx.events.insert(
            [
                event("a", "SUB", 0),
                event("b", "SUB", 1),
                event("c", "WTR", 0),
                event("d", None, 0),
                event("e", "SUB", 0, source="operator"),
                event("f", "SUB", 2),
            ],
            received_at=T0,
        )
    with store.transaction() as tx:
        got = tx.events.occurrences(
            ["SUB", "HSP"], source_prefix="security:", since=T0, until=T0 + timedelta(minutes=2)
        )
    assert sorted(got) == [("SUB", T0), ("SUB", T0 + timedelta(minutes=1))]
