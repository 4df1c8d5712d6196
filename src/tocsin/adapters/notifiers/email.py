"""E-mail notifier over SMTP (plain or STARTTLS), one message per notification.

The idempotency key travels in `Message-ID` (`<key@tocsin>`) and `X-Tocsin-Idempotency-Key`, so
a mail system or a person can recognise a redelivered copy. Temporary SMTP failures (4xx, lost
connections) are retryable; permanent ones (5xx, refused recipients) are not.
"""

from __future__ import annotations

import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from tocsin.core.redaction import redact_address, redact_text
from tocsin.core.warnings.outbox import DeliveryError, Notification
from tocsin.core.warnings.payloads import DIGEST_LINES


def _lines(warning: Mapping[str, Any]) -> list[str]:
    out = [
        f"- {str(warning.get('level', '')).upper()} {warning.get('domain')} in "
        f"{warning.get('region')}: {warning.get('subject')} ({warning.get('state')})",
    ]
    cause = warning.get("cause") or {}
    if cause:
        out.append("  cause: " + ", ".join(f"{k}={v}" for k, v in cause.items()))
    explanation = warning.get("explanation") or {}
    if "thresholds" in explanation:
        out.append(f"  thresholds: {explanation['thresholds']}")
    out.append(f"  warning id: {warning.get('id')}")
    return out


def render_text(notification: Notification) -> str:
    """A plain-text body from the notification's payload."""
    payload = notification.payload
    lines = [str(payload.get("summary") or notification.subject), ""]
    lines.append(f"why: {notification.reason}")
    if "escalation" in payload:
        lines.append(f"escalation: {payload['escalation']}")
    if "silence" in payload:
        silence = payload["silence"]
        lines.append(f"silence {silence.get('id')}: {silence.get('selector')}")
        lines.append(f"owner: {silence.get('created_by')}; reason: {silence.get('reason')}")
        lines.append(f"from {silence.get('starts_at')} until {silence.get('ends_at')}")
    firing = payload.get("firing") or payload.get("alerts") or []
    resolved = payload.get("resolved") or []
    if len(firing) + len(resolved) > DIGEST_LINES and payload.get("digest"):
        lines += ["", *payload["digest"]]  # a storm: counts and the worst, not hundreds
    else:
        if firing:
            lines += ["", "Firing:"]
            for w in firing:
                lines += _lines(w)
        if resolved:
            lines += ["", "Lifted:"]
            for w in resolved:
                lines += _lines(w)
    lines += ["", f"idempotency key: {notification.key}"]
    return "\n".join(lines) + "\n"


class EmailNotifier:
    """Sends notifications as e-mail through one SMTP server."""

    def __init__(
        self,
        *,
        host: str,
        port: int = 25,
        sender: str = "tocsin@localhost",
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.starttls = starttls
        self.username = username
        self.password = password
        self.timeout_s = timeout_s

    def message(self, notification: Notification) -> EmailMessage:
        """The e-mail for a notification."""
        return self.envelope(notification, body=render_text(notification))

    def envelope(self, notification: Notification, *, body: str) -> EmailMessage:
        """An e-mail to the notification's address with its subject, keys and this body."""
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = notification.address
        msg["Subject"] = notification.subject
        msg["Message-ID"] = f"<{notification.key}@tocsin>"
        msg["X-Tocsin-Idempotency-Key"] = notification.key
        msg.set_content(body)
        return msg

    def send(self, notification: Notification) -> None:
        """Send one message; raise DeliveryError on failure."""
        self.send_message(self.message(notification), address=notification.address)

    def send_message(self, msg: EmailMessage, *, address: str, shown: str | None = None) -> None:
        """Send a prepared message to `address`; DeliveryError on failure, saying `shown` (by
        default the address redacted) for the address."""
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username and self.password:
                    smtp.login(self.username, self.password)
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as err:
            shown = shown or redact_address("email", address)
            raise DeliveryError(f"smtp refused {shown}", retryable=False) from err
        except smtplib.SMTPResponseException as err:
            temporary = 400 <= err.smtp_code < 500
            said = redact_text(repr(err.smtp_error), [address])
            raise DeliveryError(f"smtp {err.smtp_code}: {said}", retryable=temporary) from err
        except (TimeoutError, smtplib.SMTPException, OSError) as err:
            said = redact_text(str(err), [address])
            raise DeliveryError(f"smtp {self.host}:{self.port}: {said}") from err
