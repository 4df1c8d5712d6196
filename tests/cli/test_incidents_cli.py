"""The response at the command line: the board, an incident, working a task, stand-down, the
scorecard as CSV, a situation report written to a file; mistakes end in one sentence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tocsin.bootstrap import build
from tocsin.cli.main import app
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.services.ingest import RawObservations
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import small_plans, write_small_config

SYSTEM = system_principal("test")
run = CliRunner().invoke


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, Path]:
    """A database with an orange flood incident in D11 (and its configuration folder)."""
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    config = write_small_config(tmp_path / "cfg", **{"plans.yaml": small_plans()})
    clock = FakeClock()
    container = build(Settings(database_url=url, config_dir=config), clock=clock)
    container.ingest.ingest(
        RawObservations(
            ["D11.river_level"], np.array([int(clock.now().timestamp())]), np.array([4.5])
        ),
        principal=SYSTEM,
    )
    container.response.responder.tick(clock.now())
    container.close()
    return url, config


def test_the_board_an_incident_and_its_tasks(db: tuple[str, Path]) -> None:
    url, config = db
    board = run(app, ["incidents", "list", "--db", url])
    assert board.exit_code == 0, board.output
    assert "Flood response" in board.output
    assert "1 incident(s)" in board.output
    ident = board.output.splitlines()[1].split()[0]
    shown = run(app, ["incidents", "show", ident, "--db", url])
    assert shown.exit_code == 0, shown.output
    assert "Inspect the levees" in shown.output
    assert "incident.activated" in shown.output
    tasks = run(app, ["tasks", "list", "--unit", "D11-FLOOD", "--db", url])
    task = tasks.output.splitlines()[1].split()[0]
    accepted = run(app, ["tasks", "act", "accept", task, "--by", "crew", "--db", url])
    assert accepted.exit_code == 0
    assert "accepted: Inspect the levees" in accepted.output
    no_outcome = run(app, ["tasks", "act", "complete", task, "--by", "crew", "--db", url])
    assert no_outcome.exit_code == 1
    assert "an outcome is needed" in no_outcome.output
    assert "Traceback" not in no_outcome.output
    done = run(
        app,
        ["tasks", "act", "complete", task, "--by", "crew", "--outcome", "levees hold", "--db", url],
    )
    assert done.exit_code == 0, done.output
    stood = run(
        app,
        [
            "incidents",
            "stand-down",
            ident,
            "--by",
            "duty",
            "--reason",
            "over",
            "--cancel-open",
            "--db",
            url,
            "--config",
            str(config),
        ],
    )
    assert stood.exit_code == 0, stood.output
    assert "stabilised" in stood.output


def test_scorecard_and_situation_report(db: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = db
    csv = run(
        app,
        [
            "scorecard",
            "--from",
            "2026-01-01T00:00",
            "--to",
            "2026-01-02T00:00",
            "--csv",
            "--db",
            url,
        ],
    )
    assert csv.exit_code == 0, csv.output
    lines = csv.output.splitlines()
    assert lines[0].startswith("unit,domain,warnings_received")
    assert any(line.startswith("D11-FLOOD,natural.flood,1,0,,,1,") for line in lines)
    table = run(app, ["scorecard", "--from", "2026-01-01", "--to", "2026-01-02", "--db", url])
    assert "D11-FLOOD" in table.output
    out = tmp_path / "sitrep.pdf"
    board = run(app, ["incidents", "list", "--db", url]).output
    ident = board.splitlines()[1].split()[0]
    made = run(app, ["report", "--incident", ident, "--output", str(out), "--db", url])
    assert made.exit_code == 0, made.output
    assert out.read_bytes()[:5] == b"%PDF-"
    html = tmp_path / "p1.html"
    region = run(
        app, ["report", "--region", "P1", "--format", "html", "--output", str(html), "--db", url]
    )
    assert region.exit_code == 0
    assert "<h1>Situation report: Province One</h1>" in html.read_text()


def test_mistakes_end_in_one_sentence(db: tuple[str, Path]) -> None:
    url, _ = db
    missing = run(app, ["incidents", "show", "zzz", "--db", url])
    assert missing.exit_code == 1
    assert "no incidents match 'zzz'" in missing.output
    bad_link = run(
        app,
        [
            "incidents",
            "open",
            "--title",
            "x",
            "--region",
            "D11",
            "--domain",
            "natural.flood",
            "--by",
            "d",
            "--reason",
            "r",
            "--link",
            "tweet:1",
            "--db",
            url,
        ],
    )
    assert bad_link.exit_code == 2
    assert "not KIND:ID" in bad_link.output
    both = run(app, ["report", "--db", url])
    assert both.exit_code == 2
    assert "exactly one of --incident and --region" in both.output
    bad_time = run(app, ["scorecard", "--from", "soon", "--to", "later", "--db", url])
    assert bad_time.exit_code == 2
    assert "not an ISO 8601 time" in bad_time.output
    for result in (missing, bad_link, both, bad_time):
        assert "Traceback" not in result.output
