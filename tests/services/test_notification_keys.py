"""Issue 11, finding 1: an idempotency key names what is notified, so a receiver that drops the
keys it has seen (as docs/warnings.md tells it to) still receives every warning.

The property test drives random warning streams through the whole pipeline (threshold rules ->
warnings -> dispatcher -> outbox -> delivery): raises, upgrades, downgrades, lifts and
acknowledgements across several groups, groups emptied (and forgotten) and created again,
restarts, a dispatcher pass that fails before its commit, and a receiver whose answer is lost
(so the same notification comes again). After every step the pipeline runs until it is quiet,
and it must hold that
- no key was ever written to the outbox, or delivered, with two different contents;
- every raise, level change and lift reached its receiver under a key the receiver had not seen.
Acknowledgements are not notified (they stop escalations), so they are not expected.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tocsin.bootstrap import Container, Stores, build, open_stores
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.warnings.model import WarningState
from tocsin.core.warnings.outbox import (
    Attempt,
    Channel,
    DeliveryError,
    DeliveryStatus,
    Notification,
)
from tocsin.ports import AlertingSession, AlertingStore, Outbox
from tocsin.services.ingest import RawObservations
from tocsin.testing.clock import FakeClock
from tocsin.testing.postgres import create_database
from tocsin.testing.scenario import write_small_config

SYSTEM = system_principal("test")

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
# code, region, domain: I0 and I1 share a group; I4 and I5 share one of P2's
INDICATORS = (
    ("I0", "D11", "natural.flood"),
    ("I1", "D11", "natural.flood"),
    ("I2", "D11", "supply.water"),
    ("I3", "D12", "natural.flood"),
    ("I4", "D21", "supply.water"),
    ("I5", "D21", "supply.water"),
)
CODES = tuple(code for code, _, _ in INDICATORS)
LEVEL_NAMES = ("", "blue", "yellow", "orange", "red")
Content = tuple[Any, ...]


def write_config(directory: Path) -> Path:
    """Six indicators whose level follows the value at once (1 blue … 4 red), two units."""
    thresholds = {"blue": 1.0, "yellow": 2.0, "orange": 3.0, "red": 4.0}
    indicators = [
        {"code": c, "name": c, "region": r, "domain": d, "thresholds": thresholds}
        for c, r, d in INDICATORS
    ]
    units = [
        {"code": "P1-CP", "name": "P1", "region": "P1", "email": "p1@example.test"},
        {"code": "P2-CP", "name": "P2", "region": "P2", "webhook_url": "http://sink/p2"},
    ]
    docs = {
        "indicators.yaml": {"indicators": indicators},
        "units.yaml": {"units": units},
        "assets.yaml": {"assets": []},
    }
    config = write_small_config(directory, **docs)
    routes = {"route": {"group_wait_s": 0, "group_interval_s": 60, "repeat_interval_s": 3600}}
    (config / "routes.yaml").write_text(yaml.safe_dump(routes), encoding="utf-8")
    return config


def content(n: Notification) -> Content:
    """What a notification tells its receiver (everything but moments and keys)."""
    firing = tuple((w["id"], w["level"], w["state"]) for w in n.payload.get("firing", []))
    resolved = tuple(w["id"] for w in n.payload.get("resolved", []))
    return (n.receiver, n.channel, n.address, n.kind, n.reason, firing, resolved)


@dataclass
class DedupReceiver:
    """A receiver that keeps the first notification of each key and drops repeats; it can
    lose its answer (the notification arrived, the sender does not know)."""

    accepted: dict[str, Notification] = field(default_factory=dict)
    seen: dict[str, set[Content]] = field(default_factory=dict)
    lose_answers: int = 0

    def send(self, notification: Notification) -> None:
        """Take a notification (a repeated key is dropped)."""
        self.seen.setdefault(notification.key, set()).add(content(notification))
        self.accepted.setdefault(notification.key, notification)
        if self.lose_answers:
            self.lose_answers -= 1
            raise DeliveryError("the answer was lost")


@dataclass
class SpyOutbox:
    """An outbox that remembers every content written under each key."""

    inner: Outbox
    written: dict[str, set[Content]]

    def add(self, notifications: Sequence[Notification]) -> None:
        """Remember, then write."""
        for n in notifications:
            self.written.setdefault(n.key, set()).add(content(n))
        self.inner.add(notifications)

    def mark(self, key: str, attempt: Attempt) -> None:
        """As the inner outbox."""
        self.inner.mark(key, attempt)

    def find(self, **query: Any) -> list[Notification]:
        """As the inner outbox."""
        return self.inner.find(**query)


@dataclass
class SpyStore:
    """The pipeline's store with a spying outbox; it can fail a transaction before its commit."""

    inner: AlertingStore
    written: dict[str, set[Content]] = field(default_factory=dict)
    fail_next: int = 0

    @contextmanager
    def transaction(self) -> Iterator[AlertingSession]:
        """The inner session with the outbox spied on."""
        with self.inner.transaction() as tx:
            yield Session(
                tx.feed,
                tx.warnings,
                tx.audit,
                tx.groups,
                tx.escalations,
                tx.silences,
                SpyOutbox(tx.outbox, self.written),
                tx.public_alerts,
                tx.cap_feed,
                tx.leases,
            )
            if self.fail_next:
                self.fail_next -= 1
                raise RuntimeError("the process died before the commit")

    def claim_notifications(self, now: datetime, **claim: Any) -> list[Notification]:
        """As the inner store."""
        return self.inner.claim_notifications(now, **claim)


@dataclass(frozen=True)
class Session:
    """An AlertingSession made of given repositories."""

    feed: Any
    warnings: Any
    audit: Any
    groups: Any
    escalations: Any
    silences: Any
    outbox: Outbox
    public_alerts: Any
    cap_feed: Any
    leases: Any


@dataclass
class Stream:
    """A pipeline on a fake clock whose receiver drops repeated keys."""

    url: str
    config: Path
    clock: FakeClock = field(default_factory=lambda: FakeClock(T0))
    receiver: DedupReceiver = field(default_factory=DedupReceiver)
    spy: SpyStore | None = None
    stores: Stores | None = None
    container: Container | None = None
    levels: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CODES, 0))
    expected: list[tuple[str, str]] = field(default_factory=list)  # (indicator, level | lifted)

    def start(self) -> Container:
        """Build (or rebuild, as after a restart) the container on the same database."""
        if self.stores is None or not self.url.startswith("memory"):
            self.stores = open_stores(self.url)
        if self.spy is None:
            self.spy = SpyStore(self.stores.alerting)
        self.spy.inner = self.stores.alerting
        wrapped = Stores(self.stores.store, self.spy, self.stores.close, self.stores.response)
        channels = {Channel.WEBHOOK: self.receiver, Channel.EMAIL: self.receiver}
        self.container = build(
            Settings(database_url=self.url, config_dir=self.config),
            clock=self.clock,
            stores=wrapped,
            channels=channels,
        )
        return self.container

    def restart(self) -> None:
        """Stop the process (the memory store survives, as a database would) and start again."""
        assert self.container is not None
        if not self.url.startswith("memory"):
            self.container.close()
        self.start()

    def set_levels(self, levels: dict[str, int]) -> None:
        """One batch: each indicator's value at the given level (0: below every threshold)."""
        assert self.container is not None
        codes = sorted(levels)
        moment = int(self.clock.now().timestamp())
        values = np.array([levels[c] + 0.5 for c in codes], dtype=np.float64)
        self.container.ingest.ingest(
            RawObservations(codes, np.full(len(codes), moment, dtype=np.int64), values),
            principal=SYSTEM,
        )
        for code in codes:
            before, after = self.levels[code], levels[code]
            if after != before:
                self.expected.append((code, LEVEL_NAMES[after] if after else "lifted"))
            self.levels[code] = after

    def acknowledge(self, code: str) -> None:
        """Acknowledge the indicator's warning if it is active."""
        assert self.container is not None
        for w in self.container.warnings.find(principal=SYSTEM):
            if w.subject == code and w.state is WarningState.ACTIVE:
                self.container.warnings.acknowledge(
                    w.id, principal=system_principal("duty"), reason="seen"
                )

    def settle(self, rounds: int = 3) -> None:
        """Let the pipeline run past a group interval, `rounds` times (failed passes retried)."""
        assert self.container is not None
        for _ in range(rounds):
            self.clock.advance(timedelta(seconds=61))
            self.container.leases.dispatch.require()  # only the owner dispatches
            try:
                self.container.dispatcher.tick(self.clock.now())
            except RuntimeError:
                self.container.dispatcher.tick(self.clock.now())  # the restarted loop's pass
            self.container.delivery.run_once(self.clock.now())

    def close(self) -> None:
        """Release the database."""
        if self.container is not None:
            self.container.close()

    def check(self) -> None:
        """No key with two contents; every expected transition received."""
        assert self.spy is not None
        assert {k: c for k, c in self.spy.written.items() if len(c) > 1} == {}
        assert {k: c for k, c in self.receiver.seen.items() if len(c) > 1} == {}
        told = [(n, content(n)) for n in self.receiver.accepted.values()]
        for code, what in self.expected:
            assert any(_tells(n, code, what) for n, _ in told), (code, what)


def _tells(n: Notification, code: str, what: str) -> bool:
    if what == "lifted":
        return any(w["subject"] == code for w in n.payload.get("resolved", []))
    return any(w["subject"] == code and w["level"] == what for w in n.payload.get("firing", []))


STEP = st.one_of(
    st.dictionaries(st.sampled_from(CODES), st.integers(0, 4), min_size=1, max_size=3).map(
        lambda levels: ("set", levels)
    ),
    st.sampled_from(CODES).map(lambda code: ("ack", code)),
    st.sampled_from(["restart", "crash", "lose_answer", "long_wait"]).map(lambda s: (s, None)),
)


def run(stream: Stream, steps: Sequence[tuple[str, Any]]) -> None:
    """Apply each step, let the pipeline settle, check the invariants."""
    stream.start()
    assert stream.spy is not None
    for kind, arg in steps:
        if kind == "set":
            stream.set_levels(arg)
        elif kind == "ack":
            stream.acknowledge(arg)
        elif kind == "restart":
            stream.restart()
        elif kind == "crash":
            stream.spy.fail_next = 1
        elif kind == "lose_answer":
            stream.receiver.lose_answers = 1
        else:
            stream.clock.advance(timedelta(hours=2))  # repeats fall due
        stream.settle()
        stream.check()


EXAMPLES = {"memory": 60, "sqlite": 8, "postgres": 4}


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """A function giving an empty database of the parameter's kind on each call."""
    kind: str = request.param
    if kind == "memory":
        return lambda: "memory://"
    if kind == "sqlite":
        return lambda: f"sqlite:///{tmp_path / uuid.uuid4().hex}.db"
    server: str = request.getfixturevalue("pg_server")
    return lambda: create_database(server, "t_" + uuid.uuid4().hex[:12])


def test_random_streams_keep_keys_unique_and_lose_nothing(
    fresh_url: Callable[[], str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    config = write_config(tmp_path / "config")
    kind = request.node.callspec.params["fresh_url"]

    @settings(
        max_examples=EXAMPLES[kind],
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(STEP, min_size=1, max_size=12))
    def check(steps: list[tuple[str, Any]]) -> None:
        stream = Stream(fresh_url(), config)
        try:
            run(stream, steps)
        finally:
            stream.close()

    check()


def test_a_receiver_that_drops_repeated_keys_gets_five_separate_reds(
    fresh_url: Callable[[], str], tmp_path: Path
) -> None:
    # the reproduction: one group emptied and forgotten after each lift, created again
    stream = Stream(fresh_url(), write_config(tmp_path / "config"))
    try:
        run(stream, [s for _ in range(5) for s in (("set", {"I0": 4}), ("set", {"I0": 0}))])
        assert stream.container is not None
        log = stream.container.dispatcher.notification_log(principal=SYSTEM, limit=100)
    finally:
        stream.close()
    reds = [
        n
        for n in stream.receiver.accepted.values()
        if n.reason == "new" and n.payload["firing"][0]["level"] == "red"
    ]
    lifts = [n for n in stream.receiver.accepted.values() if n.reason == "resolved"]
    assert len({n.payload["firing"][0]["id"] for n in reds}) == 5
    assert len({n.payload["resolved"][0]["id"] for n in lifts}) == 5
    assert len(log) == 10
    assert {n.status for n in log} == {DeliveryStatus.DELIVERED}
