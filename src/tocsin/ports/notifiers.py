"""Port: a delivery channel (webhook, e-mail, SMS) that hands one notification to its receiver.

A channel that can wait for its receiver without a thread (the webhook) is also an
`AsyncNotifier`: the delivery worker then sends on its event loop, many at once; the others are
sent from a small pool of threads.
"""

from __future__ import annotations

from email.message import EmailMessage
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


class Mailer(Protocol):
    """Sends a prepared e-mail through SMTP (the e-mail notifier)."""

    def envelope(self, notification: Notification, *, body: str) -> EmailMessage:
        """An e-mail to the notification's address with its subject, keys and this body."""

    def send_message(self, msg: EmailMessage, *, address: str, shown: str | None = None) -> None:
        """Send it to `address`; DeliveryError on failure, saying `shown` for the address."""


class TextSender(Protocol):
    """Sends a short text message to a phone number through an SMS gateway."""

    def send_text(self, number: str, text: str, *, key: str, shown: str) -> None:
        """Send `text` to `number` (`key`: the notification's idempotency key); DeliveryError
        on failure, saying `shown` for the number."""
