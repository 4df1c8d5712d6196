"""The retention job deletes finished notifications, ended sign-ins and old tokens, and events
past their periods (on every store), keeps what is within them, and audits each run."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.domains import DomainCode
from tocsin.core.events import Event
from tocsin.core.levels import Level
from tocsin.core.regions import RegionCode
from tocsin.core.users import Role
from tocsin.services.access import TokenRequest
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import write_small_config


def _event(ident: str, at: datetime, title: str) -> Event:
    return Event("s", ident, at, RegionCode("D11"), DomainCode("natural.flood"), Level.RED, title)


def test_retention_deletes_what_is_past_its_period_and_keeps_the_rest(
    store_url: str, tmp_path: Path
) -> None:
    clock = FakeClock()
    settings = Settings(database_url=store_url, config_dir=write_small_config(tmp_path / "c"))
    container = build(settings, clock=clock)
    try:
        desk = system_principal("feeder")
        old = _event("old", clock.now(), "an old report")
        container.events.ingest([old], principal=desk)
        container.admin.add_user("ana", Role.ANALYST, unit="P1-CP", actor="t")
        day = TokenRequest("short", expires_in=timedelta(days=1))
        short, _ = container.access.issue("ana", day, actor="t")
        kept, _ = container.access.issue("ana", TokenRequest("kept"), actor="t")
        clock.advance(timedelta(days=200))
        fresh = _event("new", clock.now(), "a new report")
        container.events.ingest([fresh], principal=desk)
        counted = container.retention.run(dry_run=True)
        assert counted.events == 0  # not yet: events are kept 365 days
        clock.advance(timedelta(days=200))
        dry = container.retention.run(dry_run=True)
        assert dry.events == 1
        done = container.retention.run()
        assert (done.events, done.sign_ins_and_tokens) == (1, 1)
        assert [k.id for k in container.access.tokens()] == [kept.id]
        assert short.id != kept.id
        with container.store.transaction() as tx:
            titles = [e.event.title for e in tx.events.newest()]
            audit = tx.audit.trail("data", "retention")
        assert titles == ["a new report"]
        assert [r.details["events"] for r in audit] == [1]
        assert container.audit.verify().finding is None
    finally:
        container.close()
