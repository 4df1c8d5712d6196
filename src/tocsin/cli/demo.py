"""`tocsin demo`: build the demo scenario on SQLite, replay it, print what it raised, serve."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from tocsin.bootstrap import build
from tocsin.cli.common import console, reported, settings
from tocsin.cli.core_commands import run_server
from tocsin.core.observations import ObservationBatch
from tocsin.core.users import Role
from tocsin.core.warnings.model import EventKind
from tocsin.demo.scenario import WHAT_IF, replay_chunks, write_config

SHOWN = {EventKind.RAISED, EventKind.UPGRADED}


def demo(
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Run the scenario and exit")] = False,
    port: Annotated[int, typer.Option(help="Port to serve on (127.0.0.1)")] = 8080,
    workdir: Annotated[Path, typer.Option(help="Where the demo's database and config go")] = Path(
        "var/demo"
    ),
    benchdata: Annotated[
        Path | None, typer.Option(help="The shared benchmark data (default ../shared/benchdata)")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="Do not print each warning")] = False,
) -> None:
    """Build a realistic scenario (real geometry, real series), replay it, then serve it."""
    base = settings()
    data = benchdata or base.benchdata
    workdir.mkdir(parents=True, exist_ok=True)
    db_file = workdir / "tocsin.db"
    for leftover in (db_file, Path(f"{db_file}-wal"), Path(f"{db_file}-shm")):
        leftover.unlink(missing_ok=True)
    started = time.perf_counter()
    with reported():
        series = write_config(workdir / "config", benchdata=data)
        container = build(
            base.model_copy(
                update={"database_url": f"sqlite:///{db_file}", "config_dir": workdir / "config"}
            )
        )
        container.admin.add_user("duty", Role.DUTY_OFFICER, unit="DPC", actor="demo")
        token = container.admin.issue_token("duty", label="demo", actor="demo")
        chunks = replay_chunks(series, container.rules.ids, chunk_seconds=6 * 3600)
        observations = 0
        changes: Counter[str] = Counter()
        for _, ids, times, values in chunks:
            result = container.ingest.ingest_batch(ObservationBatch(ids, times, values))
            observations += result.received
            for event in result.warning_events:
                changes[event.kind.value] += 1
                if event.kind in SHOWN and not quiet:
                    _show(event.to_level.value, event.reason, event.at.isoformat())
        active = container.warnings.find()
        total = sum(container.warnings.counts(open_only=False).values())
    elapsed = time.perf_counter() - started
    levels = Counter(w.level.value for w in active)
    console.print(
        f"\nreplayed {observations:,} observations from {len(series)} real series in "
        f"{elapsed:.1f} s; {total} warnings raised, {len(active)} still active "
        f"({', '.join(f'{n} {lv}' for lv, n in sorted(levels.items()))})"
    )
    console.print(f"database: {db_file}   duty officer's API token: {token}", markup=False)
    console.print(
        "what-if: tocsin risk scenario --model models/inform_2023.yaml --input "
        f"{data / 'inform' / 'inform_risk_2023_v065_indicator_data.csv'} "
        f"--scenario {workdir / WHAT_IF}",
        markup=False,
        soft_wrap=True,
    )
    summary = {
        "observations": observations,
        "warnings": total,
        "active_warnings": len(active),
        "transitions": dict(changes),
        "series": len(series),
        "seconds": round(elapsed, 2),
    }
    console.print(json.dumps(summary), markup=False, soft_wrap=True)
    if not no_serve:
        run_server(container, host="127.0.0.1", port=port)


def _show(level: str, reason: str, at: str) -> None:
    colour = {"blue": "blue", "yellow": "yellow", "orange": "dark_orange", "red": "red"}[level]
    console.print(f"[{colour}]{level.upper():7}[/] {at[:16]}  {reason}", soft_wrap=True)
