"""The responsibility system: each unit's record over a period, per domain, computed from the
audit trail alone (so it cannot disagree with it).

For each (unit, domain) it counts:

- **warnings received**: raises and upgrades (each needs a fresh acknowledgement) of warnings
  whose responsible unit is the unit; **acknowledged**: those acknowledged before the warning
  was upgraded again or lifted; the **median** and **90th percentile** of the time to
  acknowledge (linear interpolation between order statistics, Hyndman and Fan's type 7, the
  default of R and NumPy);
- **tasks received** (a task reaching the unit), **accepted late** (after the acknowledgement
  deadline), **on time** and **late** (done by, or after, the completion deadline), **overdue**
  (its running deadline passed while the unit held it: still open at the end of the period, or
  reassigned or cancelled after the deadline);
- **reminders** received for its overdue tasks and **escalations suffered**: its overdue tasks
  escalated above it, and the warnings it was responsible for escalated because nobody
  acknowledged them.

A warning is attributed to the unit responsible for its region and domain (the first of its
responsible chain); a task to the unit holding it, read from the task's own records.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from tocsin.core.audit import AuditRecord
from tocsin.core.incidents.tasks import TaskEventKind
from tocsin.core.incidents.trail import ESCALATION, TASK
from tocsin.core.warnings.model import EventKind

Keep = Callable[[str, str], bool]  # (region, domain) -> counted?
STEPPED: Final = "escalation.stepped"
RECEIVED_BY: Final = frozenset(
    {TaskEventKind.ASSIGNED, TaskEventKind.RELEASED, TaskEventKind.REASSIGNED}
)
COLUMNS: Final = (
    "unit",
    "domain",
    "warnings_received",
    "warnings_acknowledged",
    "ack_median_s",
    "ack_p90_s",
    "tasks_received",
    "tasks_accepted_late",
    "tasks_on_time",
    "tasks_late",
    "tasks_overdue",
    "reminders",
    "escalations_suffered",
)


@dataclass
class ScoreRow:
    """One unit's record in one domain over the period."""

    unit: str
    domain: str
    warnings_received: int = 0
    warnings_acknowledged: int = 0
    ack_times_s: list[float] = field(default_factory=list)
    tasks_received: int = 0
    tasks_accepted_late: int = 0
    tasks_on_time: int = 0
    tasks_late: int = 0
    tasks_overdue: int = 0
    reminders: int = 0
    escalations_suffered: int = 0

    @property
    def ack_median_s(self) -> float | None:
        """Median time to acknowledge, seconds (None: nothing acknowledged)."""
        return quantile(self.ack_times_s, 0.5)

    @property
    def ack_p90_s(self) -> float | None:
        """90th percentile of the time to acknowledge, seconds."""
        return quantile(self.ack_times_s, 0.9)

    def as_json(self) -> dict[str, Any]:
        """The row's columns (COLUMNS), in order."""
        return {name: getattr(self, name) for name in COLUMNS}


def quantile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile by linear interpolation between order statistics (type 7).

    >>> quantile([60.0, 120.0, 600.0], 0.5), quantile([60.0, 120.0, 600.0], 0.9)
    (120.0, 504.0)
    """
    if not values:
        return None
    ordered = sorted(values)
    h = (len(ordered) - 1) * q
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


@dataclass
class _Episode:
    """A task held by one unit, from the records seen so far."""

    unit: str
    domain: str
    accept_due: datetime | None
    complete_due: datetime | None
    accepted: bool = False

    @property
    def deadline(self) -> datetime | None:
        return self.complete_due if self.accepted else self.accept_due


class Tally:
    """Rows by (unit, domain), filled record by record."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], ScoreRow] = {}

    def row(self, unit: str, domain: str) -> ScoreRow:
        """The row of a unit and domain (created empty)."""
        return self.rows.setdefault((unit, domain), ScoreRow(unit, domain))

    def sorted(self) -> list[ScoreRow]:
        """Rows by unit, then domain."""
        return [self.rows[k] for k in sorted(self.rows)]


def scorecard(
    records: Iterable[AuditRecord],
    *,
    end: datetime,
    warning_places: Mapping[str, tuple[str, str]],
    responsible: Callable[[str, str], str | None],
    keep: Keep,
) -> list[ScoreRow]:
    """Every (unit, domain) row from the period's audit records (oldest first); `end` closes
    the period (tasks still open past their deadline then are overdue)."""
    tally = Tally()
    pending: dict[str, tuple[datetime, ScoreRow]] = {}
    episodes: dict[str, _Episode] = {}
    for record in records:
        if record.subject_type == "warning":
            _warning(
                record, tally, pending, places=warning_places, responsible=responsible, keep=keep
            )
        elif record.subject_type == ESCALATION and record.kind == STEPPED:
            _escalation(record, tally, keep=keep)
        elif record.subject_type == TASK:
            _task(record, tally, episodes, keep=keep)
    for episode in episodes.values():
        if episode.deadline is not None and episode.deadline < end:
            tally.row(episode.unit, episode.domain).tasks_overdue += 1
    return tally.sorted()


def _warning(
    record: AuditRecord,
    tally: Tally,
    pending: dict[str, tuple[datetime, ScoreRow]],
    *,
    places: Mapping[str, tuple[str, str]],
    responsible: Callable[[str, str], str | None],
    keep: Keep,
) -> None:
    place = places.get(record.subject_id)
    if place is None or not keep(*place):
        return
    if record.kind in (EventKind.RAISED.value, EventKind.UPGRADED.value):
        unit = responsible(*place)
        if unit is None:
            return
        row = tally.row(unit, place[1])
        row.warnings_received += 1
        pending[record.subject_id] = (record.at, row)
    elif record.kind == EventKind.ACKNOWLEDGED.value:
        started = pending.pop(record.subject_id, None)
        if started is not None:
            started[1].warnings_acknowledged += 1
            started[1].ack_times_s.append((record.at - started[0]).total_seconds())
    elif record.kind == EventKind.LIFTED.value:
        pending.pop(record.subject_id, None)


def _escalation(record: AuditRecord, tally: Tally, *, keep: Keep) -> None:
    d = record.details
    unit, region, domain = d.get("responsible"), d.get("region"), d.get("domain")
    named = isinstance(unit, str) and isinstance(region, str) and isinstance(domain, str)
    if named and keep(str(region), str(domain)):
        tally.row(str(unit), str(domain)).escalations_suffered += 1


def _task(record: AuditRecord, tally: Tally, episodes: dict[str, _Episode], *, keep: Keep) -> None:
    d = record.details
    unit, region, domain = str(d.get("unit")), str(d.get("region")), str(d.get("domain"))
    if not keep(region, domain):
        return
    kind = record.kind
    task = record.subject_id
    if kind == TaskEventKind.REASSIGNED and d.get("overdue"):
        tally.row(str(d.get("from_unit")), domain).tasks_overdue += 1
    if kind in RECEIVED_BY:
        episodes.pop(task, None)
        if d.get("to_state") == "assigned":
            tally.row(unit, domain).tasks_received += 1
            episodes[task] = _episode(d, accepted=False)
        return
    episode = episodes.get(task) or _episode(d, accepted=d.get("from_state") != "assigned")
    episode.accept_due, episode.complete_due = _due(d, "accept_due_at"), _due(d, "complete_due_at")
    episodes[task] = episode
    row = tally.row(unit, domain)
    if kind == TaskEventKind.ACCEPTED:
        episode.accepted = True
        if episode.accept_due is not None and record.at > episode.accept_due:
            row.tasks_accepted_late += 1
    elif kind == TaskEventKind.COMPLETED:
        del episodes[task]
        due = episode.complete_due
        if due is None or record.at <= due:
            row.tasks_on_time += 1
        else:
            row.tasks_late += 1
    elif kind == TaskEventKind.CANCELLED:
        del episodes[task]
        if d.get("overdue"):
            row.tasks_overdue += 1
    elif kind == TaskEventKind.REMINDED:
        row.reminders += 1
    elif kind == TaskEventKind.ESCALATED:
        row.escalations_suffered += 1


def _episode(details: Mapping[str, Any], *, accepted: bool) -> _Episode:
    return _Episode(
        str(details.get("unit")),
        str(details.get("domain")),
        _due(details, "accept_due_at"),
        _due(details, "complete_due_at"),
        accepted,
    )


def _due(details: Mapping[str, Any], name: str) -> datetime | None:
    value = details.get(name)
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def to_csv(rows: Iterable[ScoreRow]) -> str:
    """The rows as CSV text (a header of COLUMNS; times in seconds, empty when none)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        values = row.as_json()
        writer.writerow(["" if values[c] is None else _cell(values[c]) for c in COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)
