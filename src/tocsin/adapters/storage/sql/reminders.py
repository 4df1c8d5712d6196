"""The columns of a reminder schedule, as tasks and reports store it: the steps frozen when it
started (`reminder_steps`, JSON pairs of seconds after and unit), how many were taken
(`reminder_progress`) and when the next one is due (a column each table names its own way)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tocsin.adapters.storage.times import aware
from tocsin.core.incidents.tasks import Reminders


def reminder_columns(reminders: Reminders, *, due_column: str) -> dict[str, Any]:
    """The columns of a reminder schedule (`due_column` holds when the next step is due)."""
    return {
        "reminder_steps": [list(step) for step in reminders.steps],
        "reminder_progress": reminders.progress,
        due_column: reminders.next_at,
    }


def reminders_of(row: Mapping[Any, Any], *, due_column: str) -> Reminders:
    """The reminder schedule of a row (the inverse of `reminder_columns`)."""
    return Reminders(
        tuple((int(after), str(unit)) for after, unit in row["reminder_steps"] or []),
        int(row["reminder_progress"] or 0),
        aware(row[due_column]),
    )
