"""The delivery worker against real local webhook receivers: many sends at once, each address
paced (at most `in_flight` requests at once), a receiver asking to be left alone (429 with
Retry-After) held while the others go on, every outcome recorded."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.factories import T0, make_notification
from tests.http_server import local_http_server
from tocsin.adapters.notifiers.webhook import WebhookNotifier
from tocsin.bootstrap import open_stores
from tocsin.core.warnings.outbox import Channel, DeliveryStatus
from tocsin.core.warnings.pacing import PaceLimits
from tocsin.ports import AlertingStore
from tocsin.services.delivery import DeliveryWorker
from tocsin.testing.clock import FakeClock


@dataclass
class Receiver:
    """A webhook receiver that answers after `delay_s` with `status` and counts how many
    requests it holds at once."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.05
    keys: list[str] = field(default_factory=list)
    active: int = 0
    most_at_once: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    """Three receivers on free ports."""
    made = [Receiver() for _ in range(3)]
    with ExitStack() as stack:
        for seen in made:
            port = stack.enter_context(local_http_server(_handler(seen)))
            seen.url = f"http://127.0.0.1:{port}/hook"
        yield made


def _handler(seen: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            with seen.lock:
                seen.active += 1
                seen.most_at_once = max(seen.most_at_once, seen.active)
                seen.keys.append(self.headers["Idempotency-Key"])
            time.sleep(seen.delay_s)
            with seen.lock:
                seen.active -= 1
            self.send_response(seen.status)
            for name, value in seen.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            return

    return Handler


def _outbox(receivers: list[Receiver], per_receiver: int) -> AlertingStore:
    stores = open_stores("memory://")
    notes = [
        make_notification(f"{k}-{i}", address=r.url)
        for i in range(per_receiver)
        for k, r in enumerate(receivers)
    ]
    with stores.alerting.transaction() as tx:
        tx.outbox.add(notes)
    return stores.alerting


def test_sends_to_every_receiver_at_once_within_each_ones_limit(
    receivers: list[Receiver],
) -> None:
    store = _outbox(receivers, per_receiver=12)
    worker = DeliveryWorker(
        store,
        {Channel.WEBHOOK: WebhookNotifier()},
        clock=FakeClock(T0),
        default_pace=PaceLimits(in_flight=4),
    )
    try:
        report = worker.run_once(T0)
    finally:
        worker.close()
    assert report.delivered == 36
    for k, r in enumerate(receivers):
        assert sorted(r.keys) == sorted(f"{k}-{i}" for i in range(12))
        assert 1 < r.most_at_once <= 4  # several at once, never more than its limit
    with store.transaction() as tx:
        log = tx.outbox.find(limit=100)
    assert {n.status for n in log} == {DeliveryStatus.DELIVERED}


def test_a_receiver_that_asks_to_wait_is_held_and_the_others_go_on(
    receivers: list[Receiver],
) -> None:
    busy, *others = receivers
    busy.status, busy.headers = 429, {"Retry-After": "120"}
    store = _outbox(receivers, per_receiver=10)
    worker = DeliveryWorker(
        store,
        {Channel.WEBHOOK: WebhookNotifier()},
        clock=FakeClock(T0),
        default_pace=PaceLimits(in_flight=2),
    )
    try:
        report = worker.run_once(T0)
        again = worker.run_once(T0 + timedelta(seconds=60))  # still held: nothing is due
    finally:
        worker.close()
    asked = len(busy.keys)
    assert 1 <= asked <= 2  # only what was out before the first answer came back
    assert all(len(r.keys) == 10 for r in others)
    assert (report.delivered, report.retried, report.deferred) == (20, asked, 10 - asked)
    assert again.handled == 0
    with store.transaction() as tx:
        held = [n for n in tx.outbox.find(limit=100) if n.address == busy.url]
    assert {n.status for n in held} == {DeliveryStatus.PENDING}
    assert all(n.next_attempt_at and n.next_attempt_at >= T0 + timedelta(seconds=120) for n in held)
    unsent = [n for n in held if n.key not in busy.keys]
    assert {n.attempts for n in unsent} == {0}  # handed back: no attempt counted
