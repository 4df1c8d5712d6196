"""What a lifecycle with guard and change tables does with them once its transition table has
allowed a command: ask the guard of the command's kind why it may not apply, and make the record
that follows (its next state, `updated_at`, and the fields the command's change sets).

Each lifecycle keeps its own tables (`TRANSITIONS`, `GUARDS`, `CHANGES`) and its own wording of
an illegal transition; these two functions are the steps they share (incidents, tasks).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


class Commanded(Protocol):
    """A command: it has a kind, the key of the guard and change tables."""

    @property
    def kind(self) -> Any:
        """The command's kind."""


Record = TypeVar("Record", bound="DataclassInstance")
Cmd = TypeVar("Cmd", bound=Commanded)


def refusal(
    record: Record, command: Cmd, *, guards: Mapping[Any, Callable[[Record, Cmd], str | None]]
) -> str | None:
    """Guard: why the command may not be applied to the record (None: it may)."""
    guard = guards.get(command.kind)
    return guard(record, command) if guard is not None else None


def changed(
    record: Record,
    command: Cmd,
    *,
    now: datetime,
    state: object,
    changes: Mapping[Any, Callable[[Record, Cmd, datetime], dict[str, Any]]],
) -> Record:
    """The record after a legal command at `now`: its next `state`, `updated_at` now, and the
    fields the change of the command's kind sets (none when it has no change)."""
    change = changes.get(command.kind)
    fields = change(record, command, now) if change is not None else {}
    return replace(record, state=state, updated_at=now, **fields)
