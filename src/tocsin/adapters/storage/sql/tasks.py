"""Tasks on SQL (saves deferred to the end of the session)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, case, insert, select, update

from tocsin.adapters.storage import incident_tables as it
from tocsin.adapters.storage.sql.deferred import WriteQueue
from tocsin.adapters.storage.sql.lookups import rows_in
from tocsin.adapters.storage.sql.reminders import reminder_columns, reminders_of
from tocsin.adapters.storage.sql.warning_search import prefix_bound, scoped
from tocsin.adapters.storage.times import aware, must
from tocsin.core.incidents.model import IncidentId
from tocsin.core.incidents.tasks import UNFINISHED, Task, TaskId, TaskState
from tocsin.ports.incidents import TaskFilter

OPEN = sorted(s.value for s in UNFINISHED)
_t = it.tasks
DEADLINE = case(
    (_t.c.state == TaskState.ASSIGNED.value, _t.c.accept_due_at),
    (_t.c.state.in_([TaskState.ACCEPTED.value, TaskState.BLOCKED.value]), _t.c.complete_due_at),
    else_=None,
)


class SqlTasks:
    """The TaskStore port in one session."""

    def __init__(self, conn: Connection, *, queue: WriteQueue) -> None:
        self.conn = conn
        self.queue = queue

    def get(self, task_id: str) -> Task | None:
        """One task."""
        row = self.conn.execute(select(_t).where(_t.c.id == task_id)).mappings().first()
        return task_of(row) if row else None

    def by_ids(self, ids: Sequence[str]) -> dict[str, Task]:
        """Tasks by id."""
        return {
            r["id"]: task_of(r) for r in rows_in(self.conn, select(_t), column=_t.c.id, keys=ids)
        }

    def save(self, tasks: Sequence[Task], *, new: bool) -> None:
        """Insert or update tasks (when the session ends)."""
        if tasks:
            self.queue.defer(partial(self._save, list(tasks), new=new))

    def _save(self, tasks: list[Task], *, new: bool) -> None:
        if new:
            self.conn.execute(insert(_t), [task_row(x) for x in tasks])
            return
        for x in tasks:
            self.conn.execute(update(_t).where(_t.c.id == x.id).values(**task_row(x)))

    def of_incidents(self, incident_ids: Sequence[str]) -> dict[str, list[Task]]:
        """Every task of each incident, in creation order."""
        out: dict[str, list[Task]] = {i: [] for i in incident_ids}
        rows = rows_in(self.conn, select(_t), column=_t.c.incident_id, keys=incident_ids)
        for task in sorted((task_of(r) for r in rows), key=lambda x: (x.created_at, x.id)):
            out[task.incident_id].append(task)
        return out

    def find(self, query: TaskFilter) -> list[Task]:
        """Tasks by filter, the running deadline first (none last), then by creation."""
        stmt = select(_t)
        if query.unit is not None:
            stmt = stmt.where(_t.c.unit == query.unit)
        if query.open_only:
            stmt = stmt.where(_t.c.state.in_(OPEN))
        stmt = scoped(stmt, _t, scope=query.scope)
        stmt = stmt.order_by(DEADLINE.is_(None), DEADLINE, _t.c.created_at, _t.c.id)
        return [task_of(r) for r in self.conn.execute(stmt.limit(query.limit)).mappings()]

    def due(self, now: datetime, limit: int) -> list[Task]:
        """Unfinished tasks with a reminder step due, earliest first."""
        stmt = (
            select(_t)
            .where(_t.c.next_reminder_at.is_not(None), _t.c.next_reminder_at <= now)
            .where(_t.c.state.in_(OPEN))
            .order_by(_t.c.next_reminder_at, _t.c.id)
            .limit(limit)
        )
        return [task_of(r) for r in self.conn.execute(stmt).mappings()]

    def with_prefix(self, prefix: str, *, limit: int) -> list[Task]:
        """Tasks whose id starts with `prefix`."""
        stmt = select(_t).order_by(_t.c.id).limit(limit)
        if prefix:
            stmt = stmt.where(_t.c.id >= prefix, _t.c.id < prefix_bound(prefix))
        found = [task_of(r) for r in self.conn.execute(stmt).mappings()]
        return [x for x in found if x.id.startswith(prefix)]


def _seconds(value: timedelta | None) -> int | None:
    return int(value.total_seconds()) if value is not None else None


def _span(value: int | None) -> timedelta | None:
    return timedelta(seconds=value) if value is not None else None


def task_row(x: Task) -> dict[str, Any]:
    """The columns of a task."""
    return {
        "id": x.id,
        "incident_id": x.incident_id,
        "title": x.title,
        "unit": x.unit,
        "region": x.region,
        "domain": x.domain,
        "state": x.state.value,
        "stage": x.stage,
        "template": x.template,
        "assignment": x.assignment,
        "accept_within_s": _seconds(x.accept_within),
        "complete_within_s": _seconds(x.complete_within),
        "checklist": list(x.checklist),
        "depends_on": list(x.depends_on),
        "created_at": x.created_at,
        "updated_at": x.updated_at,
        "assigned_at": x.assigned_at,
        "accept_due_at": x.accept_due_at,
        "complete_due_at": x.complete_due_at,
        "accepted_at": x.accepted_at,
        "completed_at": x.completed_at,
        "outcome": x.outcome,
        "blocked_reason": x.blocked_reason,
        **reminder_columns(x.reminders, due_column="next_reminder_at"),
    }


def task_of(r: Mapping[Any, Any]) -> Task:
    """A task from its row."""
    return Task(
        id=TaskId(r["id"]),
        incident_id=IncidentId(r["incident_id"]),
        title=r["title"],
        unit=r["unit"],
        region=r["region"],
        domain=r["domain"],
        state=TaskState(r["state"]),
        created_at=must(r["created_at"]),
        updated_at=must(r["updated_at"]),
        stage=r["stage"],
        template=r["template"],
        assignment=r["assignment"],
        accept_within=_span(r["accept_within_s"]),
        complete_within=_span(r["complete_within_s"]),
        checklist=tuple(r["checklist"]),
        depends_on=tuple(TaskId(d) for d in r["depends_on"]),
        assigned_at=aware(r["assigned_at"]),
        accept_due_at=aware(r["accept_due_at"]),
        complete_due_at=aware(r["complete_due_at"]),
        accepted_at=aware(r["accepted_at"]),
        completed_at=aware(r["completed_at"]),
        outcome=r["outcome"],
        blocked_reason=r["blocked_reason"],
        reminders=reminders_of(r, due_column="next_reminder_at"),
    )
