"""Webhook (HMAC, headers, retry classification) and e-mail (a real local SMTP server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from typing import Any

import httpx
import pytest

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


def _client(handler: Any) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_webhook_signs_body_and_sends_the_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    WebhookNotifier(secret=b"s3cret", client=_client(handler)).send(make_notification())
    (request,) = seen
    assert request.headers["Idempotency-Key"] == "group-abc-123"
    body = request.content
    assert json.loads(body)["firing"][0]["id"] == "w1"
    stamp = request.headers["X-Tocsin-Timestamp"]
    assert verify(b"s3cret", stamp, body, request.headers["X-Tocsin-Signature"])
    assert not verify(b"other", stamp, body, request.headers["X-Tocsin-Signature"])
    assert not verify(b"s3cret", stamp, body + b" ", request.headers["X-Tocsin-Signature"])
    assert signature(b"k", "1", b"x").startswith("sha256=")


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (429, True), (400, False), (404, False)]
)
def test_webhook_failures_say_whether_to_retry(status: int, retryable: bool) -> None:
    notifier = WebhookNotifier(client=_client(lambda _: httpx.Response(status)))
    with pytest.raises(DeliveryError) as err:
        notifier.send(make_notification())
    assert err.value.retryable is retryable


def test_webhook_connection_error_is_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(DeliveryError) as err:
        WebhookNotifier(client=_client(handler)).send(make_notification())
    assert err.value.retryable


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
