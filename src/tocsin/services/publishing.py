"""Messages published on the bus after commit (plain JSON-able dicts)."""

from __future__ import annotations

from typing import Any

from tocsin.core.warnings.model import WarningEvent


def warning_message(event: WarningEvent) -> dict[str, Any]:
    """The bus message of a warning transition."""
    return {
        "kind": event.kind.value,
        "warning_id": event.warning_id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "reason": event.reason,
        "from_level": event.from_level.value if event.from_level else None,
        "to_level": event.to_level.value,
        "to_state": event.to_state.value,
    }
