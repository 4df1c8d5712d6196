"""The warning lifecycle: one transition table and one pure function that applies a command."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Final

from tocsin.core.errors import IllegalTransition
from tocsin.core.levels import Level
from tocsin.core.warnings.model import (
    Command,
    CommandKind,
    EventKind,
    Warning,
    WarningEvent,
    WarningId,
    WarningState,
)

A, K, L = WarningState.ACTIVE, WarningState.ACKNOWLEDGED, WarningState.LIFTED

# (state, command) -> next state. An upgrade needs a fresh acknowledgement; a downgrade keeps it.
TRANSITIONS: Final[dict[tuple[WarningState | None, CommandKind], WarningState]] = {
    (None, CommandKind.RAISE): A,
    (A, CommandKind.UPGRADE): A,
    (K, CommandKind.UPGRADE): A,
    (A, CommandKind.DOWNGRADE): A,
    (K, CommandKind.DOWNGRADE): K,
    (A, CommandKind.ACKNOWLEDGE): K,
    (A, CommandKind.LIFT): L,
    (K, CommandKind.LIFT): L,
}

EVENT_OF: Final[dict[CommandKind, EventKind]] = {
    CommandKind.RAISE: EventKind.RAISED,
    CommandKind.UPGRADE: EventKind.UPGRADED,
    CommandKind.DOWNGRADE: EventKind.DOWNGRADED,
    CommandKind.ACKNOWLEDGE: EventKind.ACKNOWLEDGED,
    CommandKind.LIFT: EventKind.LIFTED,
}


def is_level_change_legal(kind: CommandKind, current: Level, target: Level | None) -> bool:
    """Guard: an upgrade must raise the level, a downgrade must lower it."""
    if kind is CommandKind.UPGRADE:
        return target is not None and target.rank > current.rank
    if kind is CommandKind.DOWNGRADE:
        return target is not None and target.rank < current.rank
    return True


def raise_warning(
    template: Warning, command: Command, now: datetime
) -> tuple[Warning, WarningEvent]:
    """Create a warning from a template (identity and place) with the RAISE command."""
    if command.kind is not CommandKind.RAISE or command.level is None:
        raise IllegalTransition("a warning is created only by RAISE with a level")
    warning = replace(
        template,
        level=command.level,
        state=A,
        first_seen_at=now,
        last_seen_at=now,
        updated_at=now,
        cause=dict(command.cause or {}),
        explanation=dict(command.explanation or {}),
    )
    event = _event(command, warning.id, now, None, None, warning)
    return warning, event


def apply(warning: Warning, command: Command, now: datetime) -> tuple[Warning, WarningEvent]:
    """Apply a command to a warning at `now`; return the new record and its event."""
    target = TRANSITIONS.get((warning.state, command.kind))
    if target is None:
        raise IllegalTransition(
            f"cannot {command.kind.value} a warning that is {warning.state.value}"
        )
    if not is_level_change_legal(command.kind, warning.level, command.level):
        raise IllegalTransition(
            f"cannot {command.kind.value} from {warning.level.value} to "
            f"{command.level.value if command.level else 'no level'}"
        )
    changes: dict[str, object] = {"state": target, "updated_at": now}
    if command.kind in (CommandKind.UPGRADE, CommandKind.DOWNGRADE):
        changes.update(level=command.level, last_seen_at=now)
        if command.cause is not None:
            changes["cause"] = dict(command.cause)
        if command.explanation is not None:
            changes["explanation"] = dict(command.explanation)
        if command.kind is CommandKind.UPGRADE:
            changes["acknowledged_by"] = None
    elif command.kind is CommandKind.ACKNOWLEDGE:
        changes["acknowledged_by"] = command.actor
    elif command.kind is CommandKind.LIFT:
        changes.update(lifted_at=now, last_seen_at=now)
    new = replace(warning, **changes)  # type: ignore[arg-type]
    return new, _event(command, warning.id, now, warning.state, warning.level, new)


def _event(
    command: Command,
    warning_id: WarningId,
    now: datetime,
    from_state: WarningState | None,
    from_level: Level | None,
    new: Warning,
) -> WarningEvent:
    details: dict[str, object] = {}
    if command.cause:
        details["cause"] = dict(command.cause)
    return WarningEvent(
        kind=EVENT_OF[command.kind],
        warning_id=warning_id,
        at=now,
        actor=command.actor,
        reason=command.reason,
        from_state=from_state,
        to_state=new.state,
        from_level=from_level,
        to_level=new.level,
        details=details,
    )
