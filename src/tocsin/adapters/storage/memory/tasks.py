"""Tasks in memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.adapters.storage.placement import is_seen
from tocsin.core.incidents.tasks import Task
from tocsin.ports.incidents import TaskFilter

LAST = datetime.max.replace(tzinfo=UTC)


def urgency(task: Task) -> tuple[bool, datetime, datetime, str]:
    """The order of a task list: the running deadline first (none last), then creation."""
    deadline = task.deadline
    return (deadline is None, deadline or LAST, task.created_at, task.id)


class MemoryTasks:
    """The TaskStore port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def get(self, task_id: str) -> Task | None:
        """One task."""
        return self.state.tasks.get(task_id)

    def by_ids(self, ids: Sequence[str]) -> dict[str, Task]:
        """Tasks by id."""
        return {i: self.state.tasks[i] for i in ids if i in self.state.tasks}

    def save(self, tasks: Sequence[Task], *, new: bool) -> None:
        """Insert or update tasks."""
        for x in tasks:
            self.state.tasks[x.id] = x

    def of_incidents(self, incident_ids: Sequence[str]) -> dict[str, list[Task]]:
        """Every task of each incident, in creation order."""
        out: dict[str, list[Task]] = {i: [] for i in incident_ids}
        for x in sorted(self.state.tasks.values(), key=lambda x: (x.created_at, x.id)):
            if x.incident_id in out:
                out[x.incident_id].append(x)
        return out

    def find(self, query: TaskFilter) -> list[Task]:
        """Tasks by filter, most urgent first."""
        found = [
            x
            for x in self.state.tasks.values()
            if (query.unit is None or x.unit == query.unit)
            and (x.is_open or not query.open_only)
            and is_seen(query.scope, x.region, x.domain)
        ]
        return sorted(found, key=urgency)[: query.limit]

    def due(self, now: datetime, limit: int) -> list[Task]:
        """Unfinished tasks with a reminder step due, earliest first."""
        due = [
            x
            for x in self.state.tasks.values()
            if x.is_open and x.reminders.next_at is not None and x.reminders.next_at <= now
        ]
        return sorted(due, key=lambda x: (x.reminders.next_at or LAST, x.id))[:limit]

    def with_prefix(self, prefix: str, *, limit: int) -> list[Task]:
        """Tasks whose id starts with `prefix`, by id."""
        found = sorted(i for i in self.state.tasks if i.startswith(prefix))
        return [self.state.tasks[i] for i in found[:limit]]
