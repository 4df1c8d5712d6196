"""Core commands: check-config, migrate, ingest, warnings, acknowledge, serve.

Heavy modules (the database, numpy, file readers, the web server) are imported inside the
commands, so that `tocsin --help` stays fast (see `tocsin.cli.main`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tocsin.cli.common import (
    ConfigOption,
    DbOption,
    JsonLinesOption,
    LevelOption,
    ReasonOption,
    WarningIdArg,
    check_known,
    console,
    errors,
    number,
    open_container,
    owning_rules,
    parse_levels,
    print_problems,
    print_table,
    reported,
    settings,
)
from tocsin.cli.principal import SYSTEM
from tocsin.core.access import system_principal
from tocsin.core.errors import InvalidConfig, Problem

if TYPE_CHECKING:
    import socket

    from rich.progress import Progress

    from tocsin.adapters.files import FileColumns
    from tocsin.bootstrap import Container
    from tocsin.core.observations import ObservationBatch

CHUNK = 1_000_000


def check_config(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Configuration directory")],
) -> None:
    """Validate a configuration directory; list every problem with file, path and reason."""
    from tocsin.adapters.alerting_yaml import load_alerting
    from tocsin.adapters.cap_yaml import load_cap
    from tocsin.adapters.config_yaml import load_catalog
    from tocsin.adapters.plans_yaml import load_plans
    from tocsin.adapters.report_types_yaml import load_report_types
    from tocsin.adapters.sources_yaml import load_sources
    from tocsin.web.risk import cyber_model

    with reported():
        given = settings()  # the settings are checked too (TOCSIN_SYSLOG_LISTEN, …)
    try:
        catalog = load_catalog(directory)
        problems: list[Problem] = []
        plans = 0
        loaders: list[Callable[[], object]] = [
            lambda: load_alerting(directory, catalog),  # routes.yaml, escalation.yaml
            lambda: load_sources(directory, catalog),  # sources.yaml (collectors, stale sources)
            lambda: load_cap(directory, catalog, base_url="http://127.0.0.1:8080"),  # cap.yaml
            lambda: load_report_types(directory, catalog),  # reports.yaml (types, cluster rules)
            lambda: cyber_model(given),  # TOCSIN_CYBER_MODEL
        ]
        for load in loaders:
            try:
                load()
            except InvalidConfig as err:
                problems += err.problems
        try:
            plans = len(load_plans(directory, catalog).plans)  # plans.yaml
        except InvalidConfig as err:
            problems += err.problems
        if problems:
            raise InvalidConfig(problems)
    except InvalidConfig as err:
        errors.print(f"[bold red]{len(err.problems)} problem(s)[/] in {directory}:", soft_wrap=True)
        print_problems(err.problems, limit=1000)
        raise typer.Exit(1) from err
    console.print(
        f"ok: {len(catalog.regions.regions)} regions, {len(catalog.domains)} domains, "
        f"{len(catalog.indicators)} indicators, {len(catalog.assets)} assets, "
        f"{len(catalog.units)} units, {plans} emergency plans"
    )


def migrate_command(db: DbOption = None) -> None:
    """Create or upgrade the database schema (creates the database if needed)."""
    from sqlalchemy.engine import make_url

    from tocsin.bootstrap import open_stores

    with reported():
        url = settings(db).database_url
        open_stores(url, create=True).close()
    shown = make_url(url).render_as_string(hide_password=True)
    console.print(f"schema is up to date: {shown}", markup=False)


def ingest(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILE...", help="CSV or Parquet files: indicator,time,value"),
    ],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Store observation files and evaluate the rules; each file is all or nothing. With
    TOCSIN_ROLE=api, append them to the ingest stream instead: the workers store and evaluate
    them (docs/deployment.md)."""
    with reported():
        container = open_container(db, config)
        if container.stream is not None:
            try:
                appended = sum(_append_file(container, path) for path in files)
            finally:
                container.close()
            console.print(json.dumps({"files": len(files), "appended": appended}))
            return
        with owning_rules(container):
            total_warnings = sum(_ingest_file(container, path) for path in files)
        console.print(json.dumps({"files": len(files), "warning_changes": total_warnings}))


def _read_batch(container: Container, path: Path) -> tuple[FileColumns, ObservationBatch]:
    """A file's rows as a batch of indicator ids (InvalidInput naming every bad row)."""
    import numpy as np

    from tocsin.adapters.files import read_observation_file
    from tocsin.core.observations import ObservationBatch

    ids = container.rules.ids
    columns = read_observation_file(path, known=ids)
    lookup = np.array([ids[str(c)] for c in columns.codes], dtype=np.int64)
    return columns, ObservationBatch(lookup[columns.code_index], columns.times, columns.values)


def _append_file(container: Container, path: Path) -> int:
    """Append one file to the ingest stream (after the checks the API makes: no row later than
    the clock allows); the observations appended."""
    from tocsin.services.ingest import reject_future

    assert container.stream is not None  # noqa: S101 - the caller checked
    columns, batch = _read_batch(container, path)
    now, ahead = container.clock.now(), container.ingest.max_ahead
    reject_future(batch, now=now, max_ahead=ahead, where=partial(_line, columns))
    container.stream.append_group(_chunks(batch))
    console.print(
        f"{path}: {len(batch)} observations appended to the ingest stream (the workers "
        "store and evaluate them)",
        markup=False,
    )
    return len(batch)


def _ingest_file(container: Container, path: Path) -> int:
    """Store one file in one transaction; the number of warning changes it made."""
    from rich.progress import TaskID

    columns, batch = _read_batch(container, path)
    with _progress() as bar:
        task = bar.add_task(path.name, total=len(batch))

        def advance(n: int, task_id: TaskID = task) -> None:
            bar.advance(task_id, n)

        result = container.ingest.ingest_chunks(
            _chunks(batch), progress=advance, where=partial(_line, columns)
        )
    console.print(
        f"{path}: {result.received} observations stored, "
        f"{len(result.warning_events)} warning changes",
        markup=False,
    )
    return len(result.warning_events)


def _line(columns: FileColumns, row: int) -> str:
    """A file's row as `path:line` (the header is line 1 of a CSV file)."""
    return f"{columns.path}:{columns.line_of(row)}"


def _chunks(batch: ObservationBatch) -> list[ObservationBatch]:
    return [batch.take(slice(i, i + CHUNK)) for i in range(0, len(batch), CHUNK)]


def _progress() -> Progress:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

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
    level: LevelOption = None,
    domain: Annotated[
        str | None, typer.Option(metavar="DOMAIN", help="Domain (and its sub-domains)")
    ] = None,
    region: Annotated[
        str | None, typer.Option(metavar="REGION", help="Region (and its subtree)")
    ] = None,
    as_json: JsonLinesOption = False,
) -> None:
    """List warnings, most severe and oldest first."""
    levels = parse_levels(level)
    with reported():
        container = open_container(db)
        check_known("--domain", domain, container.catalog.domains)
        check_known("--region", region, container.catalog.regions.regions)
        found = container.warnings.find(
            open_only=not all_,
            levels=levels,
            domain=domain,
            region=region,
            principal=SYSTEM,
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
    print_table(
        ("id", "level", "state", "region", "domain", "subject", "since", "value"),
        (
            (
                w.id[:8],
                w.level.value.upper(),
                w.state.value,
                w.region,
                w.domain,
                w.subject,
                w.first_seen_at.strftime("%Y-%m-%d %H:%M"),
                number(w.cause.get("value")),
            )
            for w in found
        ),
        keys={"id"},
    )
    console.print(f"{len(found)} warning(s)")


def acknowledge(
    warning_id: WarningIdArg,
    by: Annotated[str, typer.Option(metavar="NAME", help="Who acknowledges")],
    reason: ReasonOption = "",
    db: DbOption = None,
) -> None:
    """Acknowledge an active warning."""
    with reported():
        container = open_container(db)
        person = system_principal(by)
        match = container.warnings.resolve(warning_id, open_only=True, principal=person)
        w = container.warnings.acknowledge(match.id, principal=person, reason=reason)
    console.print(f"acknowledged {w.id} ({w.level.value}) by {by}", markup=False)


HostOption = Annotated[
    str | None,
    typer.Option(metavar="ADDRESS", help="Address to bind (default: TOCSIN_HOST or 127.0.0.1)"),
]
PortOption = Annotated[
    int | None, typer.Option(metavar="PORT", help="Port (default: TOCSIN_PORT or 8080)")
]
RiskModelOption = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE", exists=True, dir_okay=False, help="Risk model (YAML) for the risk view"
    ),
]
RiskTableOption = Annotated[
    Path | None,
    typer.Option(
        metavar="CSV", exists=True, dir_okay=False, help="The risk model's indicator table"
    ),
]

RoleOption = Annotated[
    str | None,
    typer.Option(
        metavar="ROLE",
        help="single (default: writes stored here) or api (writes appended to the ingest "
        "stream for `tocsin worker`; default: TOCSIN_ROLE)",
    ),
]


def serve(
    db: DbOption = None,
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
    risk_model: RiskModelOption = None,
    risk_table: RiskTableOption = None,
    role: RoleOption = None,
) -> None:
    """Serve the API and dashboard over an existing database (or one made from --config)."""
    from tocsin.bootstrap import build

    with reported():
        s = settings(
            db,
            config,
            risk_model=risk_model,
            risk_table=risk_table,
            host=host,
            port=port,
            role=role,
        )
        container = build(s, address=f"http://{s.host}:{s.port}")
        run_server(container, host=s.host, port=s.port)


def run_server(
    container: Container, *, host: str, port: int, sock: socket.socket | None = None
) -> None:
    """Run uvicorn over the wired container; the address is printed once it is bound."""
    from tocsin.web.app import create_web_app
    from tocsin.web.server import serve_forever

    def ready(url: str) -> None:
        console.print(f"Tocsin on {url}/  (API docs: /docs, OpenAPI: /openapi.json)")

    serve_forever(
        create_web_app(container),
        host=host,
        port=port,
        on_ready=ready,
        sock=sock,
        switch_ms=container.settings.thread_switch_ms,
    )
