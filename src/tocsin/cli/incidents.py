"""The response at the command line: incidents (list, show, open, activate, link, stand down,
close, merge, split), tasks (list, work on them, reassign), the scorecard and situation reports.

Commands that apply a plan (activate, stand-down) read the plans from `--config DIR`; an
operator at the command line holds the database, and `--by NAME` says who acts (audited).
The database and the services are imported inside the commands (see `tocsin.cli.main`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tocsin.cli.alerting import parse_until
from tocsin.cli.common import (
    ConfigOption,
    DbOption,
    console,
    errors,
    group,
    print_table,
    reported,
    settings,
)
from tocsin.core.access import system_principal
from tocsin.core.errors import InvalidInput, Problem

if TYPE_CHECKING:
    from datetime import datetime

    from tocsin.bootstrap import Container
    from tocsin.core.incidents.model import Link
    from tocsin.core.incidents.tasks import Task

SYSTEM = system_principal("cli")
incidents_app = group("Incidents: the response to a situation, under an emergency plan.")
tasks_app = group("Tasks: what each responsible unit must do, by when.")

By = Annotated[str, typer.Option(metavar="NAME", help="Who acts (recorded on the timeline)")]
Reason = Annotated[str, typer.Option(metavar="TEXT", help="Why")]
IncidentArg = Annotated[str, typer.Argument(metavar="INCIDENT", help="Incident id (or prefix)")]
TaskArg = Annotated[str, typer.Argument(metavar="TASK", help="Task id (or prefix)")]
LinkOption = Annotated[
    list[str] | None,
    typer.Option(
        "--link", metavar="KIND:ID", help="warning:ID, event:ID, public_alert:ID, report:ID"
    ),
]


def _open(db: str | None, config: Path | None = None) -> Container:
    from tocsin.bootstrap import build

    return build(settings(db, config))


def parse_links(values: list[str] | None) -> list[Link]:
    """`kind:id` pairs as links; a bad one is refused with the kinds allowed."""
    from tocsin.core.incidents.model import Link, LinkKind

    out, problems = [], []
    kinds = ", ".join(k.value for k in LinkKind)
    for i, value in enumerate(values or []):
        kind, _, ref = value.partition(":")
        if kind not in {k.value for k in LinkKind} or not ref:
            problems.append(Problem(f"--link[{i}]", "link", f"not KIND:ID ({kinds}): {value!r}"))
        else:
            out.append(Link(LinkKind(kind), ref))
    if problems:
        raise InvalidInput(problems)
    return out


@incidents_app.command("list")
def incidents_list(
    all_: Annotated[bool, typer.Option("--all", help="Include closed incidents")] = False,
    region: Annotated[str | None, typer.Option(metavar="REGION", help="Region subtree")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
    db: DbOption = None,
) -> None:
    """The incident board, newest first."""
    with reported():
        container = _open(db)
        found = container.response.incidents.find(
            principal=SYSTEM, open_only=not all_, region=region
        )
    if as_json:
        from tocsin.api.incidents import incident_out

        for x in found:
            console.print(incident_out(x).model_dump_json(), markup=False, soft_wrap=True)
        return
    print_table(
        ("id", "state", "level", "plan", "region", "lead", "title"),
        (
            (
                x.id[:12],
                x.state.value,
                x.response_level.value if x.response_level else "–",
                f"{x.plan}@{x.plan_level.value}" if x.plan and x.plan_level else "–",
                x.region,
                x.lead_unit or "–",
                x.title,
            )
            for x in found
        ),
        keys={"id"},
    )
    console.print(f"{len(found)} incident(s)")


@incidents_app.command("show")
def incidents_show(incident: IncidentArg, db: DbOption = None) -> None:
    """One incident: its facts, its tasks by unit, its timeline."""
    with reported():
        container = _open(db)
        service = container.response.incidents
        x = service.resolve(incident, principal=SYSTEM)
        tasks = service.tasks(x.id, principal=SYSTEM)
        timeline = service.timeline(x.id, principal=SYSTEM)
        now = container.clock.now()
    level = x.response_level.value if x.response_level else "–"
    console.print(
        f"{x.id} {x.state.value.upper()} response {level} — {x.title}\n"
        f"plan {x.plan or '–'} at {x.plan_level.value if x.plan_level else '–'}; "
        f"{x.region} {x.domain}; lead {x.lead_unit or '–'}; "
        f"links {', '.join(f'{k.kind.value}:{k.ref}' for k in sorted(x.links)) or 'none'}",
        markup=False,
        soft_wrap=True,
    )
    _print_tasks(sorted(tasks, key=lambda t: (t.unit, t.created_at)), now)
    for r in timeline:
        console.print(
            f"{r.at:%Y-%m-%d %H:%M:%S}  {r.kind:<28} {r.actor}\n    {r.reason}",
            markup=False,
            soft_wrap=True,
        )


def _print_tasks(tasks: list[Task], now: datetime) -> None:
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


@incidents_app.command("open")
def incidents_open(
    title: Annotated[str, typer.Option(metavar="TEXT", help="What the incident is")],
    region: Annotated[str, typer.Option(metavar="REGION", help="Where")],
    domain: Annotated[str, typer.Option(metavar="DOMAIN", help="Which hazard")],
    by: By,
    reason: Reason,
    lead: Annotated[str | None, typer.Option(metavar="UNIT", help="The lead unit")] = None,
    link: LinkOption = None,
    db: DbOption = None,
) -> None:
    """Open an incident by hand (activate a plan on it next)."""
    with reported():
        links = parse_links(link)
        opened = _open(db).response.incidents.open(
            principal=system_principal(by),
            title=title,
            region=region,
            domain=domain,
            reason=reason,
            links=links,
            lead=lead,
        )
    console.print(f"opened {opened.id}: {opened.title}", markup=False)


@incidents_app.command("activate")
def incidents_activate(
    incident: IncidentArg,
    plan: Annotated[str, typer.Option(metavar="PLAN", help="Plan id (plans.yaml)")],
    level: Annotated[str, typer.Option(metavar="LEVEL", help="orange, red, …")],
    by: By,
    reason: Reason,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Activate a plan at a level (or raise the running plan to it); its tasks go out."""
    from tocsin.cli.common import parse_levels

    levels = parse_levels([level])
    with reported():
        container = _open(db, config)
        x = container.response.incidents.resolve(incident, principal=SYSTEM)
        done = container.response.incidents.activate(
            x.id, principal=system_principal(by), plan_id=plan, level=levels[0], reason=reason
        )
    console.print(f"{done.id} {done.state.value}: {plan} at {levels[0].value}", markup=False)


@incidents_app.command("link")
def incidents_link(
    incident: IncidentArg,
    link: LinkOption,
    by: By,
    reason: Reason = "",
    unlink: Annotated[bool, typer.Option(help="Remove the links instead")] = False,
    db: DbOption = None,
) -> None:
    """Link (or unlink) warnings, events, public alerts or reports."""
    with reported():
        links = parse_links(link)
        container = _open(db)
        x = container.response.incidents.resolve(incident, principal=SYSTEM)
        done = container.response.incidents.link(
            x.id, principal=system_principal(by), links=links, reason=reason, unlink=unlink
        )
    console.print(f"{done.id}: {len(done.links)} link(s)", markup=False)


@incidents_app.command("stand-down")
def incidents_stand_down(
    incident: IncidentArg,
    by: By,
    reason: Reason,
    cancel_open: Annotated[bool, typer.Option(help="Cancel unfinished response tasks")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Confirm the stand-down: its tasks go out; it closes when every task is finished."""
    with reported():
        container = _open(db, config)
        x = container.response.incidents.resolve(incident, principal=SYSTEM)
        done = container.response.incidents.stand_down(
            x.id, principal=system_principal(by), reason=reason, cancel_open=cancel_open
        )
    console.print(f"{done.id} {done.state.value}", markup=False)


@incidents_app.command("close")
def incidents_close(incident: IncidentArg, by: By, reason: Reason, db: DbOption = None) -> None:
    """Close an incident whose tasks are all finished."""
    with reported():
        container = _open(db)
        x = container.response.incidents.resolve(incident, principal=SYSTEM)
        done = container.response.incidents.close(
            x.id, principal=system_principal(by), reason=reason
        )
    console.print(f"{done.id} {done.state.value}", markup=False)


@incidents_app.command("merge")
def incidents_merge(
    incident: IncidentArg,
    into: Annotated[str, typer.Option(metavar="INCIDENT", help="The incident it goes into")],
    by: By,
    reason: Reason,
    db: DbOption = None,
) -> None:
    """Merge an incident into another (links and unfinished tasks move over)."""
    with reported():
        container = _open(db)
        source = container.response.incidents.resolve(incident, principal=SYSTEM)
        target = container.response.incidents.resolve(into, principal=SYSTEM)
        done = container.response.incidents.merge(
            source.id, into=target.id, principal=system_principal(by), reason=reason
        )
    console.print(f"merged {source.id} into {done.id}", markup=False)


@incidents_app.command("split")
def incidents_split(
    incident: IncidentArg,
    title: Annotated[str, typer.Option(metavar="TEXT", help="The new incident's title")],
    by: By,
    reason: Reason,
    task: Annotated[list[str] | None, typer.Option(metavar="TASK", help="Task id to move")] = None,
    link: LinkOption = None,
    db: DbOption = None,
) -> None:
    """Split links and tasks off into a new incident."""
    with reported():
        links = parse_links(link)
        container = _open(db)
        x = container.response.incidents.resolve(incident, principal=SYSTEM)
        ids = [container.response.tasks.resolve(t, principal=SYSTEM).id for t in task or []]
        child = container.response.incidents.split(
            x.id,
            principal=system_principal(by),
            title=title,
            links=links,
            task_ids=ids,
            reason=reason,
        )
    console.print(f"split {child.id} off {x.id}", markup=False)


@tasks_app.command("list")
def tasks_list(
    unit: Annotated[str | None, typer.Option(metavar="UNIT", help="Only this unit's")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include finished tasks")] = False,
    db: DbOption = None,
) -> None:
    """Tasks, the most urgent first."""
    with reported():
        container = _open(db)
        found = container.response.tasks.find(principal=SYSTEM, unit=unit, open_only=not all_)
        now = container.clock.now()
    _print_tasks(found, now)
    console.print(f"{len(found)} task(s)")


def _act(
    task: str, action: str, *, by: str, reason: str, outcome: str | None, db: str | None
) -> None:
    from tocsin.core.incidents.tasks import TaskCommandKind

    with reported():
        container = _open(db)
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
    reason: Reason = "",
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
    reason: Reason,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Give a task to another unit (fresh deadlines; the unit is notified)."""
    with reported():
        container = _open(db, config)
        found = container.response.tasks.resolve(task, principal=SYSTEM)
        done = container.response.tasks.reassign(
            found.id, principal=system_principal(by), unit=unit, reason=reason
        )
    console.print(f"{done.id} to {done.unit}: {done.title}", markup=False)


def scorecard(
    start: Annotated[str, typer.Option("--from", metavar="TIME", help="Start, ISO 8601 (UTC)")],
    end: Annotated[str, typer.Option("--to", metavar="TIME", help="End, ISO 8601 (excluded)")],
    region: Annotated[str | None, typer.Option(metavar="REGION", help="Region subtree")] = None,
    csv: Annotated[bool, typer.Option("--csv", help="CSV on standard output")] = False,
    db: DbOption = None,
) -> None:
    """Each unit's record per domain: warnings acknowledged and how fast, tasks on time, late
    and overdue, reminders and escalations suffered (from the audit trail)."""
    from tocsin.core.incidents.scorecard import to_csv

    with reported():
        since, until = parse_until(start), parse_until(end)
        container = _open(db)
        rows = container.response.scorecards.scorecard(
            principal=SYSTEM, start=since, end=until, region=region
        )
    if csv:
        console.print(to_csv(rows), markup=False, soft_wrap=True, end="")
        return

    def secs(value: float | None) -> str:
        return "–" if value is None else f"{value / 60:.1f}m"

    print_table(
        (
            "unit",
            "domain",
            "warned",
            "acked",
            "median",
            "p90",
            "tasks",
            "on time",
            "late",
            "overdue",
            "escal.",
        ),
        (
            (
                r.unit,
                r.domain,
                str(r.warnings_received),
                str(r.warnings_acknowledged),
                secs(r.ack_median_s),
                secs(r.ack_p90_s),
                str(r.tasks_received),
                str(r.tasks_on_time),
                str(r.tasks_late),
                str(r.tasks_overdue),
                str(r.escalations_suffered),
            )
            for r in rows
        ),
        keys={"unit", "domain"},
    )
    if not rows:
        errors.print("nothing happened in that period and region")


def report(
    incident: Annotated[str | None, typer.Option(metavar="INCIDENT", help="Incident id")] = None,
    region: Annotated[str | None, typer.Option(metavar="REGION", help="Region code")] = None,
    format_: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="pdf, html or json")
    ] = "pdf",
    output: Annotated[Path | None, typer.Option(metavar="FILE", help="Where to write it")] = None,
    db: DbOption = None,
) -> None:
    """A situation report of an incident or a region, now: PDF, HTML page or JSON facts."""
    if (incident is None) == (region is None):
        raise typer.BadParameter("give exactly one of --incident and --region")
    if format_ not in ("pdf", "html", "json"):
        raise typer.BadParameter("pdf, html or json", param_hint="--format")
    with reported():
        container = _open(db)
        situation = container.response.situation
        if incident is not None:
            found = container.response.incidents.resolve(incident, principal=SYSTEM)
            facts = situation.incident_facts(found.id, principal=SYSTEM)
        else:
            facts = situation.region_facts(region or "", principal=SYSTEM)
        renderer = container.response.renderer
        body: bytes = (
            renderer.pdf(facts)
            if format_ == "pdf"
            else (renderer.html(facts) if format_ == "html" else json.dumps(facts)).encode()
        )
        target = output or Path(f"situation-report.{format_}")
        try:
            target.write_bytes(body)
        except OSError as err:
            from tocsin.core.errors import Unavailable

            raise Unavailable(f"cannot write {target}: {err.strerror}") from err
    console.print(f"{target}: {facts['title']} ({len(body):,} bytes)", markup=False)
