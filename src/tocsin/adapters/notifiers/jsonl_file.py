"""File notifier: each notification appended as one JSON line to a local file.

For a sink anyone can read with `tail -f` (the demo writes `var/demo/notifications.jsonl`), or
for a log shipper that forwards the lines. Each line carries the idempotency key: a line can
appear twice only if Tocsin stopped between writing it and recording the delivery, and a
reader drops the copy by its key.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from tocsin.core.warnings.outbox import DeliveryError, Notification


class JsonLinesNotifier:
    """Appends `{"key", "kind", "receiver", "subject", "created_at", "payload"}` lines (one
    writer at a time, so lines sent from several threads never interleave)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def send(self, notification: Notification) -> None:
        """Append one line (with its newline, in one write) to the file at the address."""
        line = json.dumps(
            {
                "key": notification.key,
                "kind": notification.kind.value,
                "receiver": notification.receiver,
                "subject": notification.subject,
                "created_at": notification.created_at.isoformat(),
                "payload": notification.payload,
            },
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )
        try:
            with self._lock, Path(notification.address).open("a", encoding="utf-8") as out:
                out.write(line + "\n")
        except OSError as err:
            raise DeliveryError(f"file {notification.address}: {err.strerror or err}") from err

    def close(self) -> None:
        """Nothing to release: the file is opened for each line."""
