"""Webhook notifier: JSON over HTTP POST, HMAC-SHA256 signed, with the idempotency key.

Headers sent with every request:

- `Idempotency-Key`: the notification's key; the same key arrives again only if Tocsin crashed
  (or the request timed out) after sending and before recording the delivery;
- `X-Tocsin-Timestamp`: seconds since the epoch when the request was signed;
- `X-Tocsin-Signature`: `sha256=` + hex HMAC-SHA256 over `timestamp + "." + body` with the shared
  secret (only when a secret is configured); receivers recompute it and compare in constant time.

A 2xx answer is a delivery. Connection errors, timeouts, 408, 429 and 5xx are retryable; any
other answer is not (the receiver rejected the request: retrying will not help). A `Retry-After`
answer (seconds or an HTTP date) is passed on: the delivery worker leaves that address alone for
as long (core/warnings/pacing.py).

The delivery worker sends with `send_async` on its event loop, where the pool keeps connections
to each receiver alive between notifications (http_pool.py); `send` is the same for a caller
without a loop (one request on a connection of its own).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from tocsin.adapters.notifiers.http_pool import Answer, KeepAlivePool
from tocsin.core.redaction import redact_address, redact_text, url_secrets
from tocsin.core.warnings.outbox import DeliveryError, Notification

RETRYABLE_STATUS = frozenset({408, 425, 429})


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The `X-Tocsin-Signature` value for a body signed at `timestamp`."""
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return "sha256=" + mac


def verify(secret: bytes, timestamp: str, body: bytes, header: str) -> bool:
    """Receiver side: True when the signature header matches the body."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def retry_after(header: str | None) -> timedelta | None:
    """A `Retry-After` value (delay in seconds, or an HTTP date) as a delay; None if absent or
    not understood. At most a day."""
    if not header:
        return None
    text = header.strip()
    if text.isdigit():
        return min(timedelta(seconds=int(text)), timedelta(days=1))
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return min(max(moment - datetime.now(UTC), timedelta(0)), timedelta(days=1))


class WebhookNotifier:
    """Posts each notification's payload as JSON to its address."""

    def __init__(
        self,
        *,
        secret: bytes | None = None,
        timeout_s: float = 10.0,
        user_agent: str = "tocsin",
        pool: KeepAlivePool | None = None,
    ) -> None:
        self.secret = secret
        self.pool = pool or KeepAlivePool(timeout_s=timeout_s)
        self.user_agent = user_agent

    def send(self, notification: Notification) -> None:
        """POST the payload; raise DeliveryError (retryable or not) unless the answer is 2xx."""
        asyncio.run(self._send_alone(notification))

    async def send_async(self, notification: Notification) -> None:
        """`send` on the running event loop, over the loop's kept-alive connections."""
        body, headers = self._request(notification)
        try:
            answer = await self.pool.post(notification.address, body, headers)
        except (OSError, ValueError) as err:
            reason = redact_text(str(err), url_secrets(notification.address))
            raise DeliveryError(
                f"webhook {_shown(notification)}: {reason or type(err).__name__}",
                retryable=not isinstance(err, ValueError),
            ) from err
        _check(notification, answer)

    async def aclose(self) -> None:
        """Close the running loop's kept connections."""
        self.pool.close()

    def close(self) -> None:
        """Close every kept connection (outside an event loop)."""
        self.pool.close()

    async def _send_alone(self, notification: Notification) -> None:
        try:
            await self.send_async(notification)
        finally:
            self.pool.close()

    def _request(self, notification: Notification) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(notification.payload, sort_keys=True, separators=(",", ":")).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self.user_agent,
            "Idempotency-Key": notification.key,
            "X-Tocsin-Timestamp": stamp,
            "X-Tocsin-Kind": notification.kind.value,
        }
        if self.secret:
            headers["X-Tocsin-Signature"] = signature(self.secret, stamp, body)
        return body, headers


def _check(notification: Notification, answer: Answer) -> None:
    """Raise DeliveryError unless the answer is 2xx (retryable: 408, 425, 429, 5xx)."""
    status = answer.status
    if 200 <= status < 300:
        return
    retryable = status >= 500 or status in RETRYABLE_STATUS
    raise DeliveryError(
        f"webhook {_shown(notification)} answered {status}: "
        + redact_text(answer.text[:200], url_secrets(notification.address)),
        retryable=retryable,
        retry_after=retry_after(answer.headers.get("retry-after")),
    )


def _shown(notification: Notification) -> str:
    """The webhook's address as it may be logged: scheme and host."""
    return redact_address("webhook", notification.address)
