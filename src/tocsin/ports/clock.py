"""Port: where services get `now` (core never reads a clock)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Where services get `now`."""

    def now(self) -> datetime:
        """The current time, aware UTC."""
