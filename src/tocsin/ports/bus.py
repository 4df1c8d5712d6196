"""Port: the bus that tells subscribers what happened, after commit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Bus(Protocol):
    """Publishes what happened, after commit."""

    def publish(self, topic: str, payload: Mapping[str, Any]) -> None:
        """Hand a message to subscribers."""
