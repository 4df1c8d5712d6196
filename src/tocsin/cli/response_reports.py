"""The response's reports at the command line: the scorecard (each unit's record, from the audit
trail) and situation reports (an incident's or a region's, as PDF, HTML or JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tocsin.cli.alerting import parse_until
from tocsin.cli.common import DbOption, console, errors, open_container, print_table, reported
from tocsin.cli.principal import SYSTEM


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
        container = open_container(db)
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
        container = open_container(db)
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
