"""Tasks at the command line: list them, work on them (accept, note, complete, block, resume,
cancel), reassign them. `--by NAME` says who acts (audited)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tocsin.cli.common import (
    ConfigOption,
    DbOption,
    ReasonOption,
    console,
    group,
    open_container,
    print_table,
    reported,
)
from tocsin.cli.incidents import By
from tocsin.cli.principal import SYSTEM
from tocsin.core.access import system_principal

if TYPE_CHECKING:
    from datetime import datetime

    from tocsin.core.incidents.tasks import Task

tasks_app = group("Tasks: what each responsible unit must do, by when.")
TaskArg = Annotated[str, typer.Argument(metavar="TASK", help="Task id (or prefix)")]


def print_tasks(tasks: list[Task], now: datetime) -> None:
    """Tasks as a table: id, unit, state, running deadline, overdue, title."""
    from tocsin.core.incidents.tasks import is_overdue

    print_table(
        ("id", "unit", "state", "deadline", "overdue", "title"),
        (
            (
                t.id[:12],
                t.unit,
                t.state.value,
                t.deadline.strftime("%Y-%m-%d %H:%M") if t.deadline else "–",
                "OVERDUE" if is_overdue(t, now) else "",
                t.title,
            )
            for t in tasks
        ),
        keys={"id"},
    )


@tasks_app.command("list")
def tasks_list(
    unit: Annotated[str | None, typer.Option(metavar="UNIT", help="Only this unit's")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include finished tasks")] = False,
    db: DbOption = None,
) -> None:
    """Tasks, the most urgent first."""
    with reported():
        container = open_container(db)
        found = container.response.tasks.find(principal=SYSTEM, unit=unit, open_only=not all_)
        now = container.clock.now()
    print_tasks(found, now)
    console.print(f"{len(found)} task(s)")


def _act(
    task: str, action: str, *, by: str, reason: str, outcome: str | None, db: str | None
) -> None:
    from tocsin.core.incidents.tasks import TaskCommandKind

    with reported():
        container = open_container(db)
        found = container.response.tasks.resolve(task, principal=SYSTEM)
        done = container.response.tasks.act(
            found.id,
            TaskCommandKind(action),
            principal=system_principal(by),
            reason=reason,
            outcome=outcome,
        )
    console.print(f"{done.id} {done.state.value}: {done.title}", markup=False)


@tasks_app.command("act")
def tasks_act(
    action: Annotated[
        str,
        typer.Argument(metavar="ACTION", help="accept, note, complete, block, resume or cancel"),
    ],
    task: TaskArg,
    by: By,
    reason: ReasonOption = "",
    outcome: Annotated[str | None, typer.Option(metavar="TEXT", help="What was done")] = None,
    db: DbOption = None,
) -> None:
    """Work on a task: accept, note progress, complete (--outcome), block, resume, cancel."""
    actions = ("accept", "note", "complete", "block", "resume", "cancel")
    if action not in actions:
        raise typer.BadParameter(f"one of {', '.join(actions)}", param_hint="ACTION")
    _act(task, action, by=by, reason=reason, outcome=outcome, db=db)


@tasks_app.command("reassign")
def tasks_reassign(
    task: TaskArg,
    unit: Annotated[str, typer.Option(metavar="UNIT", help="The unit that takes it over")],
    by: By,
    reason: ReasonOption,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Give a task to another unit (fresh deadlines; the unit is notified)."""
    with reported():
        container = open_container(db, config)
        found = container.response.tasks.resolve(task, principal=SYSTEM)
        done = container.response.tasks.reassign(
            found.id, principal=system_principal(by), unit=unit, reason=reason
        )
    console.print(f"{done.id} to {done.unit}: {done.title}", markup=False)
