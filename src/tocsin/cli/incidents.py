"""Incidents at the command line: list, show, open, activate, link, stand down, close, merge,
split (tasks: `cli/tasks.py`; the scorecard and situation reports: `cli/response_reports.py`).

Commands that apply a plan (activate, stand-down) read the plans from `--config DIR`; an
operator at the command line holds the database, and `--by NAME` says who acts (audited).
The database and the services are imported inside the commands (see `tocsin.cli.main`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tocsin.cli.common import (
    ConfigOption,
    DbOption,
    JsonLinesOption,
    ReasonOption,
    console,
    group,
    open_container,
    print_table,
    reported,
)
from tocsin.cli.principal import SYSTEM
from tocsin.cli.trails import print_trail
from tocsin.core.access import system_principal
from tocsin.core.errors import InvalidInput, Problem

if TYPE_CHECKING:
    from tocsin.core.incidents.model import Link

incidents_app = group("Incidents: the response to a situation, under an emergency plan.")

By = Annotated[str, typer.Option(metavar="NAME", help="Who acts (recorded on the timeline)")]
IncidentArg = Annotated[str, typer.Argument(metavar="INCIDENT", help="Incident id (or prefix)")]
LinkOption = Annotated[
    list[str] | None,
    typer.Option(
        "--link", metavar="KIND:ID", help="warning:ID, event:ID, public_alert:ID, report:ID"
    ),
]


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
    as_json: JsonLinesOption = False,
    db: DbOption = None,
) -> None:
    """The incident board, newest first."""
    with reported():
        container = open_container(db)
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
        container = open_container(db)
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
    from tocsin.cli.tasks import print_tasks

    print_tasks(sorted(tasks, key=lambda t: (t.unit, t.created_at)), now)
    print_trail(timeline, kind_width=28)


@incidents_app.command("open")
def incidents_open(
    title: Annotated[str, typer.Option(metavar="TEXT", help="What the incident is")],
    region: Annotated[str, typer.Option(metavar="REGION", help="Where")],
    domain: Annotated[str, typer.Option(metavar="DOMAIN", help="Which hazard")],
    by: By,
    reason: ReasonOption,
    lead: Annotated[str | None, typer.Option(metavar="UNIT", help="The lead unit")] = None,
    link: LinkOption = None,
    db: DbOption = None,
) -> None:
    """Open an incident by hand (activate a plan on it next)."""
    with reported():
        links = parse_links(link)
        opened = open_container(db).response.incidents.open(
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
    reason: ReasonOption,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Activate a plan at a level (or raise the running plan to it); its tasks go out."""
    from tocsin.cli.common import parse_levels

    levels = parse_levels([level])
    with reported():
        container = open_container(db, config)
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
    reason: ReasonOption = "",
    unlink: Annotated[bool, typer.Option(help="Remove the links instead")] = False,
    db: DbOption = None,
) -> None:
    """Link (or unlink) warnings, events, public alerts or reports."""
    with reported():
        links = parse_links(link)
        container = open_container(db)
        x = container.response.incidents.resolve(incident, principal=SYSTEM)
        done = container.response.incidents.link(
            x.id, principal=system_principal(by), links=links, reason=reason, unlink=unlink
        )
    console.print(f"{done.id}: {len(done.links)} link(s)", markup=False)


@incidents_app.command("stand-down")
def incidents_stand_down(
    incident: IncidentArg,
    by: By,
    reason: ReasonOption,
    cancel_open: Annotated[bool, typer.Option(help="Cancel unfinished response tasks")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Confirm the stand-down: its tasks go out; it closes when every task is finished."""
    with reported():
        container = open_container(db, config)
        x = container.response.incidents.resolve(incident, principal=SYSTEM)
        done = container.response.incidents.stand_down(
            x.id, principal=system_principal(by), reason=reason, cancel_open=cancel_open
        )
    console.print(f"{done.id} {done.state.value}", markup=False)


@incidents_app.command("close")
def incidents_close(
    incident: IncidentArg, by: By, reason: ReasonOption, db: DbOption = None
) -> None:
    """Close an incident whose tasks are all finished."""
    with reported():
        container = open_container(db)
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
    reason: ReasonOption,
    db: DbOption = None,
) -> None:
    """Merge an incident into another (links and unfinished tasks move over)."""
    with reported():
        container = open_container(db)
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
    reason: ReasonOption,
    task: Annotated[list[str] | None, typer.Option(metavar="TASK", help="Task id to move")] = None,
    link: LinkOption = None,
    db: DbOption = None,
) -> None:
    """Split links and tasks off into a new incident."""
    with reported():
        links = parse_links(link)
        container = open_container(db)
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
