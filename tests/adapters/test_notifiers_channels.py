"""Webhook (HMAC, headers, retry classification) and e-mail (a real local SMTP server)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.http_server import local_http_server
from tests.smtp_server import smtp_server
from tocsin.adapters.notifiers.email import EmailNotifier
from tocsin.adapters.notifiers.webhook import WebhookNotifier, signature, verify
from tocsin.core.warnings.outbox import (
    Channel,
    DeliveryError,
    Notification,
    NotificationKind,
    PayloadFormat,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def make_notification(**overrides: Any) -> Notification:
    """A group notification to a webhook."""
    values: dict[str, Any] = {
        "key": "group-abc-123",
        "kind": NotificationKind.GROUP,
        "receiver": "D11-FLOOD",
        "channel": Channel.WEBHOOK,
        "address": "http://receiver.test/hook",
        "format": PayloadFormat.TOCSIN,
        "subject": "[YELLOW] natural.flood in D11: D11.river_level",
        "payload": {
            "summary": "[YELLOW] natural.flood in D11: D11.river_level",
            "firing": [
                {
                    "id": "w1",
                    "level": "yellow",
                    "domain": "natural.flood",
                    "region": "D11",
                    "subject": "D11.river_level",
                    "state": "active",
                    "cause": {"value": 3.5},
                    "explanation": {"thresholds": {"yellow": 3.0}},
                }
            ],
            "resolved": [],
        },
        "created_at": NOW,
        "reason": "new",
    }
    values.update(overrides)
    return Notification(**values)


@dataclass
class Receiver:
    """A real local webhook receiver (HTTP/1.1, keep-alive): it records each request, answers
    `status` (with `headers`), and can close each connection after answering without saying so
    (as a receiver that drops idle connections does)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    drop_after_answer: bool = False
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    connections: int = 0
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver on a free port of 127.0.0.1."""
    seen = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            seen.connections += 1

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.requests.append((dict(self.headers), body))
            self.send_response(seen.status)
            for name, value in seen.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"no")
            if seen.drop_after_answer:
                self.close_connection = True

        def log_message(self, *_: Any) -> None:
            return

    with local_http_server(Handler) as port:
        seen.url = f"http://127.0.0.1:{port}/hook"
        yield seen


@pytest.fixture
def notifier() -> Iterator[WebhookNotifier]:
    """A webhook notifier without a secret, its connections closed afterwards."""
    made = WebhookNotifier()
    yield made
    made.close()


def test_webhook_signs_body_and_sends_the_key(receiver: Receiver) -> None:
    signed = WebhookNotifier(secret=b"s3cret")
    signed.send(make_notification(address=receiver.url))
    signed.close()
    ((headers, body),) = receiver.requests
    assert headers["Idempotency-Key"] == "group-abc-123"
    assert json.loads(body)["firing"][0]["id"] == "w1"
    stamp = headers["X-Tocsin-Timestamp"]
    assert verify(b"s3cret", stamp, body, headers["X-Tocsin-Signature"])
    assert not verify(b"other", stamp, body, headers["X-Tocsin-Signature"])
    assert not verify(b"s3cret", stamp, body + b" ", headers["X-Tocsin-Signature"])
    assert signature(b"k", "1", b"x").startswith("sha256=")


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (429, True), (400, False), (404, False)]
)
def test_webhook_failures_say_whether_to_retry(
    receiver: Receiver, notifier: WebhookNotifier, status: int, retryable: bool
) -> None:
    receiver.status = status
    with pytest.raises(DeliveryError) as err:
        notifier.send(make_notification(address=receiver.url))
    assert err.value.retryable is retryable
    assert f"answered {status}: no" in str(err.value)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120), ("Wed, 21 Oct 2015 07:28:00 GMT", 0), ("soon", None), ("999999", 86_400)],
)
def test_webhook_passes_on_retry_after(
    receiver: Receiver, notifier: WebhookNotifier, header: str, seconds: int | None
) -> None:
    receiver.status, receiver.headers = 429, {"Retry-After": header}
    with pytest.raises(DeliveryError) as err:
        notifier.send(make_notification(address=receiver.url))
    expected = None if seconds is None else timedelta(seconds=seconds)
    assert err.value.retry_after == expected


def test_webhook_connection_error_is_retryable(notifier: WebhookNotifier) -> None:
    with socket_closed_port() as port:
        pass
    with pytest.raises(DeliveryError) as err:
        notifier.send(make_notification(address=f"http://127.0.0.1:{port}/hook"))
    assert err.value.retryable


def test_webhook_refuses_an_address_that_is_not_http(notifier: WebhookNotifier) -> None:
    with pytest.raises(DeliveryError) as err:
        notifier.send(make_notification(address="ftp://receiver.test/hook"))
    assert not err.value.retryable


def _send_on_one_loop(notifier: WebhookNotifier, notes: list[Notification]) -> None:
    """Send one after the other on one event loop (as the delivery worker does)."""

    async def run() -> None:
        try:
            for note in notes:
                await notifier.send_async(note)
        finally:
            await notifier.aclose()

    asyncio.run(run())


def test_webhook_keeps_one_connection_alive_across_sends(
    receiver: Receiver, notifier: WebhookNotifier
) -> None:
    notes = [make_notification(address=receiver.url, key=f"k{i}") for i in range(20)]
    _send_on_one_loop(notifier, notes)
    assert len(receiver.requests) == 20
    assert receiver.connections == 1


def test_webhook_sends_again_on_a_fresh_connection_when_the_kept_one_was_closed(
    receiver: Receiver, notifier: WebhookNotifier
) -> None:
    receiver.drop_after_answer = True  # every connection is closed after one answer
    notes = [make_notification(address=receiver.url, key=f"k{i}") for i in range(3)]
    _send_on_one_loop(notifier, notes)
    assert [h["Idempotency-Key"] for h, _ in receiver.requests] == ["k0", "k1", "k2"]
    assert receiver.connections == 3


@pytest.mark.parametrize("framing", ["chunked", "to-the-close", "no-body"])
def test_webhook_reads_every_kind_of_answer(framing: str, notifier: WebhookNotifier) -> None:
    """Answers framed by chunks, by the connection's end, or without a body (204)."""
    answers = {
        "chunked": b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbusy\r\n0\r\n\r\n",
        "to-the-close": b"HTTP/1.0 503 Busy\r\n\r\nlater",
        "no-body": b"HTTP/1.1 204 No Content\r\n\r\n",
    }
    with raw_receiver(answers[framing]) as url:
        if framing == "no-body":
            notifier.send(make_notification(address=url))
            return
        with pytest.raises(DeliveryError) as err:
            notifier.send(make_notification(address=url))
    assert err.value.retryable
    assert str(err.value).endswith({"chunked": "busy", "to-the-close": "later"}[framing])


@contextmanager
def raw_receiver(answer: bytes) -> Iterator[str]:
    """A receiver that reads one request and writes `answer` as it is, then closes."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(
                next(
                    line.split(b":")[1]
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
            )
            while len(body) < length:
                body += conn.recv(65536)
            conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    finally:
        thread.join(timeout=10)
        server.close()


class _Inbox:
    """An aiosmtpd handler that keeps the raw messages."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Store the message."""
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    """A real SMTP server on 127.0.0.1."""
    inbox = _Inbox()
    with smtp_server(inbox) as port:
        yield inbox, port


def test_email_over_smtp_carries_key_reason_and_explanation(smtp: tuple[_Inbox, int]) -> None:
    inbox, port = smtp
    notifier = EmailNotifier(host="127.0.0.1", port=port, sender="tocsin@example.test")
    note = make_notification(channel=Channel.EMAIL, address="d11@example.test")
    notifier.send(note)
    ((sender, recipients, raw),) = inbox.messages
    assert (sender, recipients) == ("tocsin@example.test", ["d11@example.test"])
    message = message_from_bytes(raw)
    assert message["Subject"] == note.subject
    assert message["X-Tocsin-Idempotency-Key"] == "group-abc-123"
    assert message["Message-ID"] == "<group-abc-123@tocsin>"
    raw_body = message.get_payload(decode=True)
    assert isinstance(raw_body, bytes)
    text = raw_body.decode()
    assert "why: new" in text
    assert "thresholds: {'yellow': 3.0}" in text


def test_email_to_a_closed_port_is_retryable() -> None:
    with socket_closed_port() as port:
        notifier = EmailNotifier(host="127.0.0.1", port=port, timeout_s=2)
        with pytest.raises(DeliveryError) as err:
            notifier.send(make_notification(channel=Channel.EMAIL, address="x@example.test"))
    assert err.value.retryable


class socket_closed_port:
    """A port nobody listens on."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return int(self.sock.getsockname()[1])

    def __exit__(self, *_: object) -> None:
        self.sock.close()
