"""`tocsin demo`: build the demo scenario on SQLite, replay it, print what it raised, serve.

Everything the demo needs ships inside the package, and everything it writes goes to one
folder (`var/demo/` by default): the database, the configuration, the duty desk's
notifications (JSON lines), the INFORM model and table, and a what-if scenario.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tocsin.cli.common import console, reported, settings
from tocsin.cli.core_commands import PortOption, run_server

if TYPE_CHECKING:
    from tocsin.bootstrap import Container
    from tocsin.demo.scenario import Series
    from tocsin.demo.storm import StormDriver

SHOWN = {"warning.raised", "warning.upgraded"}
COLOURS = {"blue": "blue", "yellow": "yellow", "orange": "dark_orange", "red": "red"}
DELIVERY_ROUNDS = 20  # dispatch and delivery rounds run before the demo exits or serves
SITUATION_REPORT = "situation-report.pdf"  # the most severe incident's, beside the database
MAX_STORM_CELLS = 20_000


def demo(
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Run the scenario and exit")] = False,
    port: PortOption = None,
    workdir: Annotated[
        Path, typer.Option(metavar="DIR", help="Where the demo's database and files go")
    ] = Path("var/demo"),
    quiet: Annotated[bool, typer.Option(help="Do not print each warning")] = False,
    storm: Annotated[
        int,
        typer.Option(
            metavar="CELLS",
            min=0,
            max=MAX_STORM_CELLS,
            help="Add river gauges on this many grid cells and, once served, a flood storm "
            "that turns them all red (through the REST ingest path), then back",
        ),
    ] = 0,
    storm_after: Annotated[
        float,
        typer.Option(metavar="SECONDS", min=0, help="When the storm comes, after the server is up"),
    ] = 30.0,
    storm_hold: Annotated[
        float,
        typer.Option(metavar="SECONDS", min=0, help="How long the gauges stay red"),
    ] = 300.0,
) -> None:
    """Build a realistic scenario (real geometry, real series), replay it, then serve it."""
    from tocsin.core.errors import InvalidInput, Problem, Unavailable
    from tocsin.demo.public_alerts import PUBLIC_ALERTS
    from tocsin.demo.scenario import (
        CYBER_RISK_MODEL,
        NOTIFICATIONS,
        RISK_MODEL,
        RISK_TABLE,
        write_config,
    )
    from tocsin.web.server import bind

    started = time.perf_counter()
    db_file = workdir / "tocsin.db"
    with reported():
        if storm and no_serve:
            raise InvalidInput(
                [Problem("--storm", "", "the storm comes once the demo is served: drop --no-serve")]
            )
        # the port first: a port in use is said at once, not after the replay
        sock = None if no_serve else bind("127.0.0.1", settings(port=port).port)
        try:
            workdir.mkdir(parents=True, exist_ok=True)
            for leftover in (
                "tocsin.db",
                "tocsin.db-wal",
                "tocsin.db-shm",
                NOTIFICATIONS,
                PUBLIC_ALERTS,
            ):
                (workdir / leftover).unlink(missing_ok=True)
            (workdir / SITUATION_REPORT).unlink(missing_ok=True)
            base_url = f"http://127.0.0.1:{settings(port=port).port}"
            series = write_config(
                workdir / "config",
                end_at=int(time.time()) // 60 * 60,
                base_url=base_url,
                storm_cells=storm,
            )
        except OSError as err:
            raise Unavailable(f"cannot write the demo into {workdir}: {err.strerror}") from err
        base = settings(
            f"sqlite:///{db_file}",
            workdir / "config",
            risk_model=workdir / CYBER_RISK_MODEL,
            risk_table=workdir / RISK_TABLE,
            port=port,
            env="dev",  # the demo's database is throw-away: its secrets are sealed with the dev key
        )
        container, token = _open(base)
        replayed = _replay(container, series, quiet=quiet)
        public = _public_alert(container)
        replayed["exposures"] = _exposure(container)
        delivered = _deliver(container)
    _summary(container, replayed, delivered=delivered, seconds=time.perf_counter() - started)
    with reported():
        sitrep = _respond(container, workdir)
    console.print(
        f"\ndatabase: {db_file}   duty officer's API token: {token}\n"
        f"notifications: {workdir / NOTIFICATIONS} ({delivered} delivered; also "
        f"`tocsin notify log --db sqlite:///{db_file}`)\n"
        f"what-if: tocsin risk scenario --model {workdir / RISK_MODEL} "
        f"--input {workdir / RISK_TABLE} --scenario {workdir / 'what-if.yaml'}"
        + (
            f"\nsituation report: {sitrep} (incidents: #/incidents on the dashboard)"
            if sitrep
            else ""
        ),
        markup=False,
        soft_wrap=True,
    )
    if public is not None:
        console.print(
            f"public alert {public} drafted by duty, approved by supervisor and published: "
            f"{base_url}/cap/ (page), {base_url}/cap/feed.atom (Atom), "
            f"{base_url}/cap/{public}.xml (CAP); its subscriber's copy: {workdir / PUBLIC_ALERTS}",
            markup=False,
            soft_wrap=True,
        )
    summary = replayed | {"notifications": delivered, "public_alert": public}
    console.print(json.dumps(summary), markup=False, soft_wrap=True)
    if no_serve:
        container.close()
        return
    driver = _storm(container, base_url, token, after_s=storm_after, hold_s=storm_hold)
    try:
        with reported():
            run_server(container, host="127.0.0.1", port=base.port, sock=sock)
    finally:
        if driver is not None:
            driver.stop()


def _storm(
    container: Container, base_url: str, token: str, *, after_s: float, hold_s: float
) -> StormDriver | None:
    """The storm's driver, started (None: the demo has no storm gauges)."""
    from tocsin.demo.storm import LEVEL, StormDriver, StormPlan

    catalog = container.catalog
    cells = {r.code for r in catalog.regions.regions.values() if r.level == LEVEL}
    gauges = tuple(sorted(i.code for i in catalog.indicators if i.region in cells))
    if not gauges:
        return None
    console.print(
        f"storm: {len(gauges):,} river gauges (natural.flood, one a grid cell) turn red "
        f"{after_s:g} s after the server answers, and fall back {hold_s:g} s later; "
        "their warnings reach the duty desk as one message a district",
        markup=False,
        soft_wrap=True,
    )

    def say(text: str) -> None:
        console.print(text, markup=False, soft_wrap=True)

    plan = StormPlan(gauges, after_s=after_s, hold_s=hold_s)
    driver = StormDriver(plan, base_url=base_url, token=token, say=say)
    driver.start()
    return driver


def _open(base: Any) -> tuple[Container, str]:
    from tocsin.bootstrap import build
    from tocsin.core.users import Role
    from tocsin.services.access import TokenRequest

    container = build(base, address=f"http://127.0.0.1:{base.port}")
    container.admin.add_user("duty", Role.DUTY_OFFICER, unit="DESK", actor="demo")
    return container, container.access.issue("duty", TokenRequest("demo"), actor="demo")[1]


def _replay(container: Container, series: list[Series], *, quiet: bool) -> dict[str, Any]:
    """Feed every series through the production ingest path, in chunks of 6 simulated hours."""
    from tocsin.core.observations import ObservationBatch
    from tocsin.demo.scenario import replay_chunks

    chunks = replay_chunks(series, container.rules.ids, chunk_seconds=6 * 3600)
    observations = 0
    changes: Counter[str] = Counter()
    for _, ids, times, values in chunks:
        result = container.ingest.ingest_batch(ObservationBatch(ids, times, values))
        observations += result.received
        for event in result.warning_events:
            changes[event.kind.value] += 1
            if event.kind.value in SHOWN and not quiet:
                _show(event.to_level.value, event.reason, event.at.isoformat())
    return {
        "observations": observations,
        "warnings": changes["warning.raised"],
        "transitions": dict(changes),
        "series": len(series),
    }


def _public_alert(container: Container) -> str | None:
    """Draft a public alert from the most severe open warning (as `duty`), have `supervisor`
    approve it (publication follows); its identifier, or None when it could not be."""
    from tocsin.core.access import Principal, system_principal
    from tocsin.core.errors import TocsinError
    from tocsin.core.users import Role
    from tocsin.services.publication import Choices

    found = container.warnings.find(principal=system_principal("demo"), limit=1)
    if not found:
        return None
    container.admin.add_user("supervisor", Role.DUTY_OFFICER, unit="DPC", actor="demo")
    people: dict[str, Principal] = {
        user.name: container.access.principal(user) for user, _ in container.admin.users()
    }
    alerts = container.cap.alerts
    draft = alerts.draft_from_warning(
        found[0].id, principal=people["duty"], choices=Choices(), reason="demo"
    )
    try:
        alerts.submit(draft.identifier, principal=people["duty"])
        alerts.approve(draft.identifier, principal=people["supervisor"], reason="demo")
    except TocsinError as err:  # e.g. no CAP schema on this machine: the demo goes on
        alerts.withdraw(draft.identifier, principal=people["duty"], reason=str(err)[:500])
        console.print(f"no public alert: {err}", markup=False, soft_wrap=True)
        return None
    return draft.identifier


def _exposure(container: Container) -> int:
    """Import the demo's vulnerability feeds; say what is exposed and what fails with it."""
    from tocsin.core.access import system_principal
    from tocsin.demo.exposure import import_demo_feeds

    import_demo_feeds(container)
    exposed = [
        a for a in container.exposure.assets(principal=system_principal("demo")) if a.exposures
    ]
    for asset in exposed:
        found = ", ".join(
            f"{e.advisory.id} ({e.level.value}"
            + (f", known exploited, due {e.due_on}" if e.advisory.known_exploited else "")
            + ")"
            for e in asset.exposures
        )
        lost = ", ".join(container.catalog.assets[c].name for c in asset.consequences.failed)  # type: ignore[index]
        console.print(
            f"exposed: {asset.name} ({asset.asset}) runs {', '.join(asset.software)}: {found}; "
            f"if it is lost: {lost or 'nothing else'} (the Exposure view, key 5)",
            markup=False,
            soft_wrap=True,
        )
    return sum(len(a.exposures) for a in exposed)


def _deliver(container: Container) -> int:
    """Run the warning pipeline until it has nothing left to send; the number delivered."""
    delivered = 0
    for _ in range(DELIVERY_ROUNDS):
        container.leases.dispatch.require()  # a new database: nobody else holds it
        now = container.clock.now()
        report = container.dispatcher.tick(now)
        responded = container.response.responder.tick(now)  # plans activated by the warnings
        done = container.delivery.run_once(now)
        delivered += done.delivered
        quiet = not report.notifications and not responded.notices
        if quiet and not done.delivered and not done.retried:
            break
    return delivered


def _respond(container: Container, workdir: Path) -> Path | None:
    """Say which incidents the warnings opened; write the most severe one's situation report."""
    from tocsin.core.access import system_principal
    from tocsin.core.incidents.model import RESPONSE_RANKS

    system = system_principal("demo")
    incidents = container.response.incidents.find(principal=system)
    for x in incidents:
        tasks = container.response.incidents.tasks(x.id, principal=system)
        level = x.response_level.value if x.response_level else "–"
        console.print(
            f"incident {x.id[:12]} response level {level}: {x.title}; lead {x.lead_unit}; "
            f"{len(tasks)} task(s) to {', '.join(sorted({t.unit for t in tasks}))}",
            markup=False,
            soft_wrap=True,
        )
    if not incidents:
        return None
    top = max(
        incidents, key=lambda x: RESPONSE_RANKS.get(x.response_level, 0) if x.response_level else 0
    )
    facts = container.response.situation.incident_facts(top.id, principal=system)
    path = workdir / SITUATION_REPORT
    path.write_bytes(container.response.renderer.pdf(facts))
    return path


def _summary(
    container: Container, replayed: dict[str, Any], *, delivered: int, seconds: float
) -> None:
    from tocsin.core.access import system_principal

    active = container.warnings.find(principal=system_principal("demo"))
    levels = Counter(w.level.value for w in active)
    replayed["active_warnings"] = len(active)
    replayed["seconds"] = round(seconds, 2)
    console.print(
        f"\nreplayed {replayed['observations']:,} observations from {replayed['series']} real "
        f"series in {seconds:.1f} s, ending now; {replayed['warnings']} warnings raised, "
        f"{len(active)} still active ({', '.join(f'{n} {lv}' for lv, n in sorted(levels.items()))}"
        f"); {delivered} notifications delivered to the duty desk",
        markup=False,
    )


def _show(level: str, reason: str, at: str) -> None:
    console.print(f"[{COLOURS[level]}]{level.upper():7}[/] {at[:16]}  {reason}", soft_wrap=True)
