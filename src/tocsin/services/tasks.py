"""Task use cases: a unit's tasks ("my unit's tasks"), one task with its trail, and the work on
it: accept, progress notes, done with an outcome, blocked with a reason, resumed, reassigned to
another unit, cancelled.

Tasks are scoped by unit: a task sits in its unit's region and the domain it acts in
(`task_place`), so a unit's members see and work on their unit's tasks, and a duty officer
those of the regions and domains of the officer's unit. Working on a task needs RESPOND;
reassigning and cancelling need COMMAND (over the task, and over where a reassigned task goes).
Finishing a task releases the tasks that waited for it, and closes a stood-down incident whose
tasks are all finished.
"""

from __future__ import annotations

from dataclasses import dataclass

from tocsin.core.access import Placement, Principal, require, require_found, require_place, visible
from tocsin.core.audit import AuditRecord
from tocsin.core.errors import InvalidInput, NotFound, Problem
from tocsin.core.incidents.plans import DEFAULT_OVERDUE
from tocsin.core.incidents.reminders import steps_for
from tocsin.core.incidents.tasks import Task, TaskCommand, TaskCommandKind
from tocsin.core.incidents.trail import TASK
from tocsin.core.units import UnitCode
from tocsin.core.users import Permission
from tocsin.ports import TaskFilter
from tocsin.services.incident_scope import task_place
from tocsin.services.response_pass import ResponsePass, ResponseRuntime

WORK = {  # what a unit does to its task, and the permission it needs
    TaskCommandKind.ACCEPT: Permission.RESPOND,
    TaskCommandKind.NOTE: Permission.RESPOND,
    TaskCommandKind.COMPLETE: Permission.RESPOND,
    TaskCommandKind.BLOCK: Permission.RESPOND,
    TaskCommandKind.RESUME: Permission.RESPOND,
    TaskCommandKind.CANCEL: Permission.COMMAND,
}


@dataclass(frozen=True)
class TaskService:
    """Reads and works on tasks."""

    runtime: ResponseRuntime

    def find(
        self,
        *,
        principal: Principal,
        unit: str | None = None,
        mine: bool = False,
        open_only: bool = True,
        limit: int = 500,
    ) -> list[Task]:
        """Tasks the principal may see, most urgent first; `mine`: its own unit's."""
        require(principal, Permission.READ)
        if mine:
            if principal.unit is None:
                raise InvalidInput([Problem("query", "mine", f"{principal.name} has no unit")])
            unit = principal.unit
        query = TaskFilter(unit=unit, open_only=open_only, scope=principal.scope, limit=limit)
        with self.runtime.store.transaction() as tx:
            return tx.tasks.find(query)

    def get(self, task_id: str, *, principal: Principal) -> Task:
        """One task (Forbidden outside the principal's scope)."""
        require(principal, Permission.READ)
        with self.runtime.store.transaction() as tx:
            found = tx.tasks.get(task_id)
        return require_found(principal, found, kind="task", ident=task_id, place=task_place)

    def resolve(self, prefix: str, *, principal: Principal) -> Task:
        """The one task the principal sees whose id starts with `prefix`."""
        require(principal, Permission.READ)
        with self.runtime.store.transaction() as tx:
            found = visible(principal, tx.tasks.with_prefix(prefix, limit=2), task_place)
        if len(found) != 1:
            raise NotFound(f"{'no' if not found else 'several'} tasks match {prefix!r}")
        return found[0]

    def history(self, task_id: str, *, principal: Principal) -> list[AuditRecord]:
        """A task's audit trail, oldest first."""
        self.get(task_id, principal=principal)
        with self.runtime.store.transaction() as tx:
            return tx.audit.trail(TASK, task_id)

    def act(
        self,
        task_id: str,
        kind: TaskCommandKind,
        *,
        principal: Principal,
        reason: str,
        outcome: str | None = None,
    ) -> Task:
        """Accept, note, complete, block, resume or cancel a task (in the principal's scope)."""
        permission = WORK.get(kind)
        if permission is None:
            raise InvalidInput([Problem("body", "action", f"{kind.value} is not done by hand")])
        require(principal, permission)
        with self.runtime.transaction() as work:
            task = self._task(work, task_id, principal, action=kind.value)
            incident = work.must_incident(task.incident_id)
            command = TaskCommand(kind, principal.name, reason, outcome=outcome)
            done = work.change_task(task, command, incident)
            if not done.is_open:
                work.release_ready(incident, actor=principal.name)
                work.close_if_finished(incident)
            return done

    def reassign(self, task_id: str, *, principal: Principal, unit: str, reason: str) -> Task:
        """Give a task to another unit: fresh deadlines from now, the new unit notified."""
        require(principal, Permission.COMMAND)
        target = self.runtime.context.catalog.units.get(UnitCode(unit))
        if target is None:
            raise InvalidInput([Problem("body", "unit", f"unknown unit {unit!r}")])
        with self.runtime.transaction() as work:
            task = self._task(work, task_id, principal, action="reassigning")
            require_place(
                principal, Placement(target.region, task.domain), action=f"giving a task to {unit}"
            )
            incident = work.must_incident(task.incident_id)
            plan = self.runtime.context.plans.get(incident.plan) if incident.plan else None
            policy = plan.overdue if plan is not None else DEFAULT_OVERDUE
            steps = steps_for(policy, self.runtime.context.chain(unit, task.domain))
            command = TaskCommand(
                TaskCommandKind.REASSIGN,
                principal.name,
                reason,
                unit=unit,
                region=str(target.region),
                steps=steps,
            )
            return work.change_task(task, command, incident)

    @staticmethod
    def _task(work: ResponsePass, task_id: str, principal: Principal, *, action: str) -> Task:
        found = work.task(task_id)
        return require_found(
            principal, found, kind="task", ident=task_id, place=task_place, doing=action
        )
