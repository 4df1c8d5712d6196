"""Port: a delivery channel (webhook, e-mail) that hands one notification to its receiver."""

from __future__ import annotations

from typing import Protocol

from tocsin.core.warnings.outbox import Notification


class Notifier(Protocol):
    """Hands one notification to its channel; raises DeliveryError when it did not arrive."""

    def send(self, notification: Notification) -> None:
        """Deliver (webhook POST, SMTP message) with the notification's idempotency key."""
