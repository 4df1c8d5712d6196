"""Core commands: check-config, migrate, ingest, warnings, acknowledge, users, serve."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from tocsin.adapters.alerting_yaml import load_alerting
from tocsin.adapters.config_yaml import load_catalog
from tocsin.adapters.files import read_observation_file
from tocsin.adapters.storage.engine import make_engine, migrate
from tocsin.bootstrap import Container, build
from tocsin.cli.common import (
    ConfigOption,
    DbOption,
    console,
    errors,
    print_problems,
    reported,
    settings,
)
from tocsin.core.errors import InvalidConfig, InvalidInput, Problem
from tocsin.core.observations import ObservationBatch
from tocsin.core.users import Role

CHUNK = 1_000_000


def check_config(
    directory: Annotated[Path, typer.Argument(help="Configuration directory")],
) -> None:
    """Validate a configuration directory; list every problem with file, path and reason."""
    try:
        catalog = load_catalog(directory)
        load_alerting(directory, catalog)  # routes.yaml, escalation.yaml (warning pipeline)
    except InvalidConfig as err:
        errors.print(f"[bold red]{len(err.problems)} problem(s)[/] in {directory}:", soft_wrap=True)
        print_problems(err.problems, limit=1000)
        raise typer.Exit(1) from err
    console.print(
        f"ok: {len(catalog.regions.regions)} regions, {len(catalog.domains)} domains, "
        f"{len(catalog.indicators)} indicators, {len(catalog.assets)} assets, "
        f"{len(catalog.units)} units"
    )


def migrate_command(db: DbOption = None) -> None:
    """Create or upgrade the database schema."""
    s = settings(db)
    migrate(make_engine(s.database_url))
    console.print(f"schema is up to date: {s.database_url}")


def ingest(
    files: Annotated[list[Path], typer.Argument(help="CSV or Parquet files: indicator,time,value")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Store observation files and evaluate the rules; each file is all or nothing."""
    with reported():
        container = build(settings(db, config))
        ids = container.rules.ids
        total_warnings = 0
        for path in files:
            columns = read_observation_file(path)
            lookup = np.array([ids.get(str(c), -1) for c in columns.codes], dtype=np.int64)
            series = lookup[columns.code_index]
            unknown = np.flatnonzero(series < 0)
            if len(unknown):
                raise InvalidInput(
                    [
                        Problem(
                            f"{path}:{columns.line_of(int(i))}",
                            "indicator",
                            f"unknown indicator {columns.codes[columns.code_index[i]]!r}",
                        )
                        for i in unknown[:50]
                    ]
                )
            batch = ObservationBatch(series, columns.times, columns.values)
            with _progress() as bar:
                task = bar.add_task(path.name, total=len(batch))

                def advance(n: int, task_id: TaskID = task) -> None:
                    bar.advance(task_id, n)

                result = container.ingest.ingest_chunks(_chunks(batch), progress=advance)
            total_warnings += len(result.warning_events)
            console.print(
                f"{path}: {result.received} observations stored, "
                f"{len(result.warning_events)} warning changes"
            )
        console.print(json.dumps({"files": len(files), "warning_changes": total_warnings}))


def _chunks(batch: ObservationBatch) -> list[ObservationBatch]:
    return [batch.take(slice(i, i + CHUNK)) for i in range(0, len(batch), CHUNK)]


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeRemainingColumn(),
        console=errors,
        transient=True,
    )


def warnings(
    db: DbOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Include lifted warnings")] = False,
    level: Annotated[list[str] | None, typer.Option(help="Only these levels")] = None,
    domain: Annotated[str | None, typer.Option(help="Domain (and its sub-domains)")] = None,
    region: Annotated[str | None, typer.Option(help="Region (and its subtree)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """List warnings, most severe and oldest first."""
    with reported():
        container = build(settings(db))
        found = container.warnings.find(
            open_only=not all_, levels=tuple(level or ()), domain=domain, region=region
        )
    if as_json:
        for w in found:
            console.print(
                json.dumps(
                    {
                        "id": w.id,
                        "level": w.level.value,
                        "state": w.state.value,
                        "region": w.region,
                        "domain": w.domain,
                        "subject": w.subject,
                        "first_seen_at": w.first_seen_at.isoformat(),
                        "last_seen_at": w.last_seen_at.isoformat(),
                        "cause": dict(w.cause),
                    }
                ),
                markup=False,
                soft_wrap=True,
            )
        return
    table = Table("id", "level", "state", "region", "domain", "subject", "since", "cause")
    for w in found:
        cause = w.cause
        table.add_row(
            w.id[:8],
            w.level.value.upper(),
            w.state.value,
            w.region,
            w.domain,
            w.subject,
            w.first_seen_at.strftime("%Y-%m-%d %H:%M"),
            f"{cause.get('value', '')} @ {cause.get('time', '')}",
        )
    console.print(table)
    console.print(f"{len(found)} warning(s)")


def acknowledge(
    warning_id: Annotated[str, typer.Argument(help="Warning id (or a unique prefix)")],
    by: Annotated[str, typer.Option(help="Who acknowledges")],
    reason: Annotated[str, typer.Option(help="Why")] = "",
    db: DbOption = None,
) -> None:
    """Acknowledge an active warning."""
    with reported():
        container = build(settings(db))
        match = container.warnings.resolve(warning_id, open_only=True)
        w = container.warnings.acknowledge(match.id, actor=by, reason=reason)
    console.print(f"acknowledged {w.id} ({w.level.value}) by {by}")


users_app = typer.Typer(help="Users and API tokens.", no_args_is_help=True)


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[Role, typer.Option(help="admin, analyst, duty_officer or unit_member")],
    unit: Annotated[str | None, typer.Option(help="Responsible unit code")] = None,
    db: DbOption = None,
    token: Annotated[bool, typer.Option(help="Also issue an API token")] = True,
) -> None:
    """Create (or update) a user and print a new API token."""
    with reported():
        container = build(settings(db))
        container.admin.add_user(name, role, unit=unit, actor="cli")
        console.print(f"user {name} ({role.value})")
        if token:
            console.print(container.admin.issue_token(name, label="cli", actor="cli"), markup=False)


def serve(
    db: DbOption = None,
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8080,
) -> None:
    """Serve the API and dashboard over an existing database."""
    with reported():
        container = build(settings(db, config))
    run_server(container, host=host, port=port)


def run_server(container: Container, *, host: str, port: int) -> None:
    """Run uvicorn over the wired container."""
    import uvicorn

    from tocsin.web.app import create_web_app

    console.print(f"Tocsin on http://{host}:{port}/  (API docs: /docs, OpenAPI: /openapi.json)")
    uvicorn.run(create_web_app(container), host=host, port=port, log_level="warning")
