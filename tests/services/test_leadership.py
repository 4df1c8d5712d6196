"""Issue 11, finding 8: two processes on one database lose nothing.

Before, two `tocsin serve` on one database each kept the rules' state in memory: 5 of 10 valid
batches sent to the second got `409 cannot downgrade from red to red`, 120 observations were not
stored and the warning histories diverged. Now one process owns the rules' state (and another
lease, the dispatcher) through a lease in the database; the other is a standby that answers
writes 503 naming the owner, takes over once the lease runs out (reloading the state), and a
paused old owner cannot commit after it lost the lease (fencing). Two containers on one
database stand for the two processes, each with its own clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.services.test_detector_rules import config as detector_config
from tests.services.test_detector_rules import series
from tocsin.api.app import create_app
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.errors import NotOwner
from tocsin.core.observations import ObservationBatch
from tocsin.core.users import Role
from tocsin.services.access import TokenRequest
from tocsin.testing.clock import FakeClock
from tocsin.testing.replay import clean_replay, stored_transitions
from tocsin.testing.scenario import write_small_config

SYSTEM = system_principal("test")

T = 1_767_225_600  # 2026-01-01T00:00:00Z
NOW = datetime.fromtimestamp(T, UTC) + timedelta(hours=6)
IND = "D11.river_level"  # blue 2, yellow 3, orange 4, red 5
LEASE_S = 6.0


@dataclass
class Process:
    """A container standing for one process, with its clock and an API client."""

    container: Container
    clock: FakeClock
    client: TestClient
    headers: dict[str, str]

    def post(self, values: list[float], minute: int) -> Any:
        body = {
            "observations": [
                {"indicator": IND, "time": T + 60 * (minute + i), "value": v}
                for i, v in enumerate(values)
            ]
        }
        return self.client.post("/api/v1/observations", json=body, headers=self.headers)


@contextmanager
def process(db: str, name: str, config: Path | None = None) -> Iterator[Process]:
    clock = FakeClock(NOW)
    settings = Settings(database_url=db, config_dir=config, lease_s=LEASE_S)
    container = build(settings, clock=clock, address=f"http://{name}:8080")
    container.admin.add_user(name, Role.DUTY_OFFICER, unit="NAT", actor="test")
    token = container.access.issue(name, TokenRequest("test"), actor="test")[1]
    try:
        with TestClient(create_app(container)) as client:
            yield Process(container, clock, client, {"Authorization": f"Bearer {token}"})
    finally:
        container.close()


def _observations(container: Container) -> list[int]:
    with container.store.transaction() as tx:
        times: list[int] = tx.observations.read(container.rules.ids[IND]).times.tolist()
    return times


def test_a_standby_answers_503_naming_the_owner_and_takes_over_when_it_stops(
    db_url: str, tmp_path: Path
) -> None:
    config = write_small_config(tmp_path / "config")
    with process(db_url, "a", config) as a, process(db_url, "b") as b:
        assert a.post([3.5], 0).json()["warnings_changed"] == 1  # a owns the rules: yellow
        refused = b.post([5.5], 1)
        assert refused.status_code == 503
        assert 1 <= int(refused.headers["Retry-After"]) <= LEASE_S
        body = refused.json()
        owner = str(a.container.leases.holder)
        assert "http://a:8080" in owner
        assert owner in body["detail"]
        assert body["problems"] == [{"where": "server", "field": "owner", "reason": owner}]
        assert _observations(a.container) == [T]  # nothing of the refused batch
        # a stops renewing (killed, paused); once its lease ran out, b takes over, reloads the
        # rules' state from the database and upgrades the warning a raised
        b.clock.advance(timedelta(seconds=LEASE_S + 1))
        taken = b.post([5.5], 1)
        assert (taken.status_code, taken.json()["warnings_changed"]) == (202, 1)
        # a, paused all along, still believes it holds the lease: its write is fenced off
        late = a.post([1.0], 2)
        assert late.status_code == 503
        assert "lost the rules lease" in late.json()["detail"]
        again = a.post([1.0], 2)  # and from then on it names the new owner
        assert str(b.container.leases.holder) in again.json()["detail"]
        assert _observations(a.container) == [T, T + 60]
        warnings = b.client.get("/api/v1/warnings", headers=b.headers).json()
        assert [(w["subject"], w["level"]) for w in warnings] == [(IND, "red")]
        assert [k for _, k, _, _ in stored_transitions(b.container)] == [
            "warning.raised",
            "warning.upgraded",
        ]
        assert stored_transitions(b.container) == clean_replay(b.container)


def test_an_owner_paused_inside_its_transaction_cannot_commit_after_a_takeover(
    db_url: str, tmp_path: Path
) -> None:
    config = write_small_config(tmp_path / "config")
    with process(db_url, "a", config) as a, process(db_url, "b") as b:
        ident = a.container.rules.ids[IND]
        a.post([1.0], 0)

        def pause(_rows: int) -> None:  # a is stopped here, its batch evaluated, not committed
            b.clock.advance(timedelta(seconds=LEASE_S + 1))
            assert b.post([3.5], 1).status_code == 202  # b takes over and commits

        # (a batch that changes no warning: on SQLite, a transaction that wrote already holds
        # the one write lock, and no takeover can commit before it does)
        batch = ObservationBatch(np.array([ident]), np.array([T + 120]), np.array([1.5]))
        with pytest.raises(NotOwner, match="lost the rules lease"):
            a.container.ingest.ingest_chunks([batch], progress=pause)
        assert _observations(b.container) == [T, T + 60]
        assert stored_transitions(b.container) == clean_replay(b.container)
        assert [k for _, k, _, _ in stored_transitions(b.container)] == ["warning.raised"]


def test_only_the_dispatch_owner_writes_notifications(db_url: str, tmp_path: Path) -> None:
    units = [{"code": "NAT", "name": "Nation", "region": "N", "webhook_url": "http://sink/"}]
    route = {"receiver": "NAT", "group_by": ["subject"], "group_wait_s": 0, "group_interval_s": 1}
    routes = {"route": route}
    config = write_small_config(
        tmp_path / "config", **{"units.yaml": {"units": units}, "routes.yaml": routes}
    )
    with process(db_url, "a", config) as a, process(db_url, "b", config) as b:
        a.post([5.5], 0)
        assert a.container.leases.dispatch.claim() is not None  # a dispatches
        assert a.container.dispatcher.tick(a.clock.now()).transitions == 1
        b.post([1.0], 0)  # refused (a owns the rules): nothing new
        a.clock.advance(timedelta(seconds=1))
        b.clock.advance(timedelta(seconds=LEASE_S + 1))
        assert b.post([1.0], 1).status_code == 202  # b owns the rules now: the lift
        with pytest.raises(NotOwner, match="does not hold the dispatch lease"):
            b.container.dispatcher.tick(b.clock.now())  # a dispatcher without the lease
        assert b.container.leases.dispatch.claim() is not None  # b takes dispatch over
        with pytest.raises(NotOwner):  # a still dispatches by its clock: fenced off
            a.container.dispatcher.tick(a.clock.now())
        assert not a.container.leases.dispatch.holds()  # it knows now
        assert a.container.dispatcher.notification_log(
            limit=9, principal=SYSTEM
        )  # reads need no lease
        report = b.container.dispatcher.tick(b.clock.now())
        assert report.transitions == 1
        log = b.container.dispatcher.notification_log(limit=100, principal=SYSTEM)
        assert sorted(n.reason for n in log) == ["new", "resolved"]
        assert len({n.key for n in log}) == 2


def test_a_process_that_closes_hands_over_at_once(db_url: str, tmp_path: Path) -> None:
    config = write_small_config(tmp_path / "config")
    with process(db_url, "b", config) as b:
        with process(db_url, "a") as a:
            assert a.post([3.5], 0).status_code == 202
            assert b.post([3.6], 1).status_code == 503
        assert b.post([3.6], 1).status_code == 202  # no need to wait for the expiry


def test_a_takeover_reloads_the_detectors_from_their_checkpoint(
    sqlite_url: str, tmp_path: Path
) -> None:
    config = detector_config(tmp_path)
    values = series(300, spike_at=250)
    straight_db = f"sqlite:///{tmp_path / 'straight.db'}"
    with process(straight_db, "s", config) as s:
        whole = _feed(s.container, values, 0)
    with process(sqlite_url, "a", config) as a, process(sqlite_url, "b") as b:
        part = _feed(a.container, values[:200], 0)
        b.clock.advance(timedelta(seconds=LEASE_S + 1))
        part += _feed(b.container, values[200:], 200)  # b's detectors: a's checkpoint
    assert part == whole
    assert any(kind == "warning.raised" for kind, _ in whole)


def _feed(container: Container, values: Any, start: int) -> list[tuple[str, str]]:
    ident = container.rules.ids[IND]
    n = len(values)
    batch = ObservationBatch(
        np.full(n, ident, dtype=np.int64),
        T + 60 * np.arange(start, start + n, dtype=np.int64),
        np.asarray(values, dtype=np.float64),
    )
    events = container.ingest.ingest_batch(batch).warning_events
    return [(e.kind.value, e.at.isoformat()) for e in events]
