"""Port: a delivery channel (webhook, e-mail) that hands one notification to its receiver.

A channel that can wait for its receiver without a thread (the webhook) is also an
`AsyncNotifier`: the delivery worker then sends on its event loop, many at once; the others are
sent from a small pool of threads.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from tocsin.core.warnings.outbox import Notification


class Notifier(Protocol):
    """Hands one notification to its channel; raises DeliveryError when it did not arrive."""

    def send(self, notification: Notification) -> None:
        """Deliver (webhook POST, SMTP message) with the notification's idempotency key."""


@runtime_checkable
class AsyncNotifier(Protocol):
    """A channel that sends on an event loop."""

    async def send_async(self, notification: Notification) -> None:
        """Deliver, as `Notifier.send`, on the running event loop."""

    async def aclose(self) -> None:
        """Release what the channel keeps open on the running event loop."""
