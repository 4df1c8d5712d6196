"""The warnings one transaction raises or changes, kept by fingerprint and saved together.

Every warning source (threshold and detector rules, risk classes, Prometheus alerts) turns what
it found into lifecycle commands. `WarningChanges.apply` runs them in order: RAISE when no
warning of the fingerprint is open (a lift of nothing is nothing), the command itself otherwise
(a RAISE of an open warning to another level is its upgrade or downgrade). `save` writes the
changed warnings, updates first (a lift frees its fingerprint), then the new ones; the caller
appends the audit records of the events with its other writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from tocsin.core.warnings import lifecycle
from tocsin.core.warnings.model import (
    Command,
    CommandKind,
    Place,
    Warning,
    WarningEvent,
    WarningId,
    blank_warning,
)
from tocsin.ports import StoreSession


def level_change(command: Command, current: Warning) -> Command:
    """A RAISE of an open warning to another level, as the upgrade or downgrade it is."""
    if command.kind is not CommandKind.RAISE or command.level is None:
        return command
    up = command.level.rank > current.level.rank
    return replace(command, kind=CommandKind.UPGRADE if up else CommandKind.DOWNGRADE)


@dataclass
class WarningChanges:
    """Open warnings by fingerprint, and what this transaction did to them."""

    open_by_fp: dict[str, Warning]
    created: dict[str, Warning] = field(default_factory=dict)
    updated: dict[str, Warning] = field(default_factory=dict)
    events: list[WarningEvent] = field(default_factory=list)
    touched: dict[WarningId, datetime] = field(default_factory=dict)  # stored, only seen again

    @classmethod
    def load(cls, tx: StoreSession, fingerprints: Sequence[str]) -> WarningChanges:
        """The open warnings of these fingerprints, nothing changed yet."""
        return cls(tx.warnings.open_by_fingerprint(list(fingerprints)))

    def current(self, fp: str) -> Warning | None:
        """The open warning of a fingerprint, as changed so far."""
        return self.open_by_fp.get(fp)

    def apply(
        self, fp: str, command: Command, *, at: datetime, place: Callable[[], Place]
    ) -> WarningEvent | None:
        """Apply one command to the fingerprint's warning (raising a new one at `place()` when
        none is open); None when there was nothing to do."""
        current = self.open_by_fp.get(fp)
        if current is None:
            if command.level is None:
                return None  # lifting a warning that is not open
            raised = replace(command, kind=CommandKind.RAISE)
            blank = blank_warning(WarningId(uuid.uuid4().hex), place(), fingerprint=fp)
            warning, event = lifecycle.raise_warning(blank, raised, at)
            self.created[warning.id] = warning
        else:
            warning, event = lifecycle.apply(current, level_change(command, current), at)
        self.keep(warning, fp=fp, event=event)
        return event

    def keep(self, warning: Warning, *, fp: str, event: WarningEvent | None = None) -> None:
        """Record a changed warning (with its transition, if any) as the fingerprint's record:
        open under `fp`, or freeing `fp` once lifted."""
        (self.created if warning.id in self.created else self.updated)[warning.id] = warning
        if warning.is_open:
            self.open_by_fp[fp] = warning
        elif self.open_by_fp.get(fp, warning).id == warning.id:
            self.open_by_fp.pop(fp, None)
        if event is not None:
            self.events.append(event)

    def touch(self, fp: str, *, at: datetime) -> None:
        """Move the open warning's last_seen_at to `at` (no transition; written by `save`)."""
        current = self.open_by_fp[fp]
        for pending in (self.created, self.updated):
            if current.id in pending:  # changed in this transaction: not stored yet
                pending[current.id] = self.open_by_fp[fp] = replace(current, last_seen_at=at)
                return
        self.touched[current.id] = at

    def save(self, tx: StoreSession) -> list[WarningEvent]:
        """Write the changed warnings (updates first, then new ones) and the warnings only seen
        again; return the events."""
        tx.warnings.save(list(self.updated.values()), new=False)
        tx.warnings.save(list(self.created.values()), new=True)
        tx.warnings.touch({w: at for w, at in self.touched.items() if w not in self.updated})
        return self.events
