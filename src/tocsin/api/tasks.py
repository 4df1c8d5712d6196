"""Tasks: a unit's tasks (`mine`), one task with its trail, the work on it (accept, note,
complete, block, resume, cancel) and reassigning it to another unit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.audit import AuditOut, audit_out
from tocsin.api.auth import Commander, Reader, Responder, container_of
from tocsin.api.fields import Code, Reason, Text, single_values
from tocsin.api.problems import CHANGE_ERRORS, READ_ERRORS, responses
from tocsin.core.incidents.tasks import Task, TaskCommandKind, TaskState, is_overdue

TaskId = Annotated[str, Path(min_length=1, max_length=128)]
Action = Literal["accept", "note", "complete", "block", "resume", "cancel"]


class TaskOut(BaseModel):
    """A task: what, for whom, by when, and where it stands (overdue is computed now)."""

    id: str
    incident_id: str
    title: str
    unit: str
    region: str
    domain: str
    state: TaskState
    stage: str
    template: str
    assignment: str
    checklist: list[str]
    depends_on: list[str]
    assigned_at: datetime | None
    accept_due_at: datetime | None
    complete_due_at: datetime | None
    accepted_at: datetime | None
    completed_at: datetime | None
    outcome: str | None
    blocked_reason: str | None
    deadline: datetime | None
    overdue: bool
    next_reminder_at: datetime | None


class TaskDetailOut(TaskOut):
    """A task with its audit trail."""

    history: list[AuditOut]


class TaskActionIn(BaseModel):
    """Why (a progress note, a blocker), and the outcome when it is done."""

    model_config = ConfigDict(extra="forbid")
    reason: Reason = ""
    outcome: Text | None = Field(default=None, description="what was done (complete only)")


class ReassignIn(BaseModel):
    """The unit that takes the task over, and why."""

    model_config = ConfigDict(extra="forbid")
    unit: Code
    reason: Reason = Field(min_length=1)


def task_out(task: Task, now: datetime) -> TaskOut:
    """The API view of a task at `now`."""
    return TaskOut(
        id=task.id,
        incident_id=task.incident_id,
        title=task.title,
        unit=task.unit,
        region=task.region,
        domain=task.domain,
        state=task.state,
        stage=task.stage,
        template=task.template,
        assignment=task.assignment,
        checklist=list(task.checklist),
        depends_on=list(task.depends_on),
        assigned_at=task.assigned_at,
        accept_due_at=task.accept_due_at,
        complete_due_at=task.complete_due_at,
        accepted_at=task.accepted_at,
        completed_at=task.completed_at,
        outcome=task.outcome,
        blocked_reason=task.blocked_reason,
        deadline=task.deadline,
        overdue=is_overdue(task, now),
        next_reminder_at=task.reminders.next_at,
    )


def router() -> APIRouter:
    """The task routes."""
    api = APIRouter(tags=["tasks"], dependencies=[Depends(single_values)])

    @api.get("/api/v1/tasks", responses=responses(401, 403, 422))
    def list_tasks(
        principal: Reader,
        request: Request,
        mine: Annotated[bool, Query(description="only the tasks of the user's unit")] = False,
        unit: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
        state: Literal["open", "all"] = "open",
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> list[TaskOut]:
        """Tasks in the user's scope, the most urgent first (the running deadline)."""
        container = container_of(request)
        found = container.response.tasks.find(
            principal=principal, unit=unit, mine=mine, open_only=state == "open", limit=limit
        )
        now = container.clock.now()
        return [task_out(t, now) for t in found]

    @api.get("/api/v1/tasks/{task_id}", responses=READ_ERRORS)
    def get_task(task_id: TaskId, principal: Reader, request: Request) -> TaskDetailOut:
        """One task with its trail."""
        tasks = container_of(request).response.tasks
        task = tasks.get(task_id, principal=principal)
        history = audit_out(tasks.history(task_id, principal=principal))
        now = container_of(request).clock.now()
        return TaskDetailOut(**task_out(task, now).model_dump(), history=history)

    @api.post("/api/v1/tasks/{task_id}/reassign", responses=CHANGE_ERRORS)
    def reassign_task(
        task_id: TaskId, body: ReassignIn, principal: Commander, request: Request
    ) -> TaskOut:
        """Give the task to another unit (fresh deadlines from now; the unit is notified)."""
        container = container_of(request)
        done = container.response.tasks.reassign(
            task_id, principal=principal, unit=body.unit, reason=body.reason
        )
        return task_out(done, container.clock.now())

    @api.post("/api/v1/tasks/{task_id}/{action}", responses=CHANGE_ERRORS)
    def act_on_task(
        task_id: TaskId,
        action: Action,
        body: TaskActionIn,
        principal: Responder,
        request: Request,
    ) -> TaskOut:
        """Accept, note progress, complete (with an outcome), block (with a reason), resume
        or cancel a task in the user's scope (cancel needs the command permission)."""
        container = container_of(request)
        done = container.response.tasks.act(
            task_id,
            TaskCommandKind(action),
            principal=principal,
            reason=body.reason,
            outcome=body.outcome,
        )
        return task_out(done, container.clock.now())

    return api
