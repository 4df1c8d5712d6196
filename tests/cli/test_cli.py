"""The command line as a user runs it: check-config, ingest, warnings, acknowledge, demo."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.cap_support import read_independently
from tocsin.cli.main import app
from tocsin.core.access import system_principal
from tocsin.testing.scenario import gauges_with_detector, small_config, write_small_config

SYSTEM = system_principal("test")

runner = CliRunner()


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, str]:
    return write_small_config(tmp_path / "config"), f"sqlite:///{tmp_path / 'db.sqlite'}"


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def count(db: str) -> int:
    from tocsin.adapters.storage.engine import make_engine
    from tocsin.adapters.storage.sql.store import SqlStore

    store = SqlStore(make_engine(db))
    with store.transaction() as tx:
        n = tx.observations.count()
    store.close()
    return n


def test_check_config_passes_and_fails_with_every_problem(tmp_path: Path) -> None:
    code, out = invoke("check-config", str(write_small_config(tmp_path / "good")))
    assert code == 0
    assert "6 regions" in out
    docs = small_config()
    docs["indicators.yaml"]["indicators"][0]["domain"] = "weather"
    docs["units.yaml"]["units"][0]["region"] = "atlantis"
    code, out = invoke("check-config", str(write_small_config(tmp_path / "bad", **docs)))
    assert code == 1
    assert "2 problem(s)" in out
    assert "indicators.yaml: indicators[D11.river_level].domain: unknown domain 'weather'" in out
    assert "units.yaml: units[NAT].region: unknown region 'atlantis'" in out


def test_ingest_a_csv_then_list_the_warnings(setup: tuple[Path, str], tmp_path: Path) -> None:
    config, db = setup
    csv = tmp_path / "obs.csv"
    csv.write_text(
        "indicator,time,value\n"
        "D11.river_level,2026-01-01T00:00:00Z,1.0\n"
        "D11.river_level,2026-01-01T00:10:00Z,4.4\n"
        "D21.reservoir,2026-01-01T00:10:00Z,55\n"
    )
    code, out = invoke("ingest", str(csv), "--db", db, "--config", str(config))
    assert code == 0, out
    assert json.loads(out.strip().splitlines()[-1]) == {"files": 1, "warning_changes": 1}
    code, out = invoke("warnings", "--db", db, "--json")
    assert code == 0
    (w,) = [json.loads(line) for line in out.strip().splitlines()]
    assert (w["level"], w["region"], w["cause"]["value"]) == ("orange", "D11", 4.4)
    code, out = invoke(
        "acknowledge", w["id"][:6], "--by", "alice", "--reason", "crew sent", "--db", db
    )
    assert code == 0, out
    code, out = invoke("warnings", "--db", db, "--json")
    assert json.loads(out.strip())["state"] == "acknowledged"


def test_a_reading_over_threshold_and_detector_is_one_warning_with_both_causes(
    tmp_path: Path,
) -> None:
    docs = gauges_with_detector()
    config = write_small_config(tmp_path / "config", **docs)
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    calm = [2.0, 2.05, 1.95, 2.02, 1.98, 2.04, 1.96, 2.01, 1.99, 2.03]
    values = [*calm, *calm, *calm, 4.0]  # orange by the threshold, yellow by the detector
    rows = [f"D11.river_level,{1_767_225_600 + 600 * i},{v}" for i, v in enumerate(values)]
    csv = tmp_path / "obs.csv"
    csv.write_text("indicator,time,value\n" + "\n".join(rows) + "\n")
    code, out = invoke("ingest", str(csv), "--db", db, "--config", str(config))
    assert code == 0, out
    code, out = invoke("warnings", "--db", db, "--json")
    (w,) = [json.loads(line) for line in out.strip().splitlines()]
    assert (w["level"], w["cause"]["rules"]) == (
        "orange",
        {"threshold": "orange", "detector": "yellow"},
    )
    code, out = invoke("history", w["id"], "--db", db)
    assert code == 0, out
    assert "threshold  ORANGE  D11.river_level = 4 m is above the orange threshold 3.5" in out
    assert "detector   YELLOW  D11.river_level = 4 m is anomalous: robust_z score" in out
    assert "3.5; detector: yellow" in out  # the raise names the other rule


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "indicator,time,value\nD11.river_level,2026-01-01T00:00:00Z,1\n"
            "D11.river_level,2026-01-01T00:10:00Z,abc\n",
            ":3: value: not a finite number: 'abc'",
        ),
        (
            "indicator,time,value\nD11.river_level,yesterday,1\n",
            ":2: time: not an ISO 8601 time or epoch seconds: 'yesterday'",
        ),
        (
            "indicator,time,value\nD11.river_level,2026-01-01T00:00:00Z,1\nnope,2026-01-01T00:00:00Z,1\n",
            ":3: indicator: unknown indicator 'nope'",
        ),
        (
            "indicator,when,value\nD11.river_level,2026-01-01T00:00:00Z,1\n",
            ":1: time: missing column",
        ),
        (
            "indicator,time,value\nD11.river_level,2026-01-01T00:00:00Z,1,7\n",
            ":2: expected 3 fields, found 4",
        ),
        (
            "indicator,time,value\nD11.river_level,2026-01-01T00:00:00Z,nan\n",
            ":2: value: not a finite number",
        ),
    ],
)
def test_a_malformed_csv_is_rejected_whole(
    setup: tuple[Path, str], tmp_path: Path, content: str, expected: str
) -> None:
    config, db = setup
    good = tmp_path / "good.csv"
    good.write_text("indicator,time,value\nD12.river_level,2026-01-01T00:00:00Z,1\n")
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    code, out = invoke("ingest", str(bad), "--db", db, "--config", str(config))
    assert code == 2
    assert "nothing was stored" in out
    assert f"{bad}{expected}" in out
    assert count(db) == 0


def test_format_problems_do_not_hide_an_unknown_indicator(
    setup: tuple[Path, str], tmp_path: Path
) -> None:
    config, db = setup
    bad = tmp_path / "both.csv"
    bad.write_text(
        "indicator,time,value\n"
        "D11.river_level,2026-01-01T00:00:00Z,abc\n"
        "nope,2026-01-01T00:10:00Z,1\n"
    )
    code, out = invoke("ingest", str(bad), "--db", db, "--config", str(config))
    assert code == 2
    assert f"{bad}:2: value: not a finite number" in out
    assert f"{bad}:3: indicator: unknown indicator 'nope'" in out
    assert count(db) == 0


def test_log_lines_name_what_they_are_about(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from tocsin.cli.common import LogFormatter

    record = logging.makeLogRecord(
        {"name": "tocsin.x", "levelname": "WARNING", "msg": "no receiver for warning",
         "warning": "4f2a9c"}
    )  # fmt: skip
    line = LogFormatter("%(levelname)s %(name)s: %(message)s").format(record)
    assert line == "WARNING tocsin.x: no receiver for warning (warning=4f2a9c)"


def test_help_is_plain_and_lists_what_a_new_user_looks_for() -> None:
    code, out = invoke("--help")
    assert code == 0
    assert "<bool>" not in out
    assert "<list" not in out
    code, out = invoke("--version")
    assert code == 0
    assert out.startswith("tocsin ")
    code, out = invoke("detect", "--help")
    from tocsin.core.detectors import DETECTORS

    assert all(kind in out for kind in DETECTORS)
    code, out = invoke("warnings", "--help")
    assert "--level LEVEL" in out
    assert "<" not in out


def test_help_does_not_import_the_heavy_parts() -> None:
    """`tocsin --help` imports no numba, numpy, SQLAlchemy or web server (it stays fast)."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from tocsin.cli.main import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = {'numba', 'numpy', 'sqlalchemy', 'uvicorn', 'fastapi', 'pydantic_settings'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_parquet_and_epoch_seconds(setup: tuple[Path, str], tmp_path: Path) -> None:
    config, db = setup
    path = tmp_path / "obs.parquet"
    pq.write_table(
        pa.table(
            {
                "indicator": ["D21.reservoir"] * 3,
                "time": [1_767_225_600, 1_767_226_200, 1_767_226_800],
                "value": [60.0, 25.0, 8.0],
            }
        ),
        path,
    )
    code, out = invoke("ingest", str(path), "--db", db, "--config", str(config))
    assert code == 0, out
    assert count(db) == 3
    code, out = invoke("ingest", str(path), "--db", db)  # sent twice: nothing new
    assert code == 0
    assert count(db) == 3
    code, out = invoke("warnings", "--db", db, "--json")
    assert json.loads(out.strip())["level"] == "red"


def test_demo_runs_real_series_ending_now_and_notifies_its_duty_desk(tmp_path: Path) -> None:
    from tocsin.bootstrap import build
    from tocsin.config import Settings

    work = tmp_path / "demo"
    started = time.time()
    code, out = invoke("demo", "--no-serve", "--quiet", "--workdir", str(work))
    assert code == 0, out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["series"] == 20
    assert summary["observations"] > 100_000
    assert summary["warnings"] > 0
    assert summary["transitions"]["warning.raised"] == summary["warnings"]
    # the replayed series end at the moment the demo ran, not at a fixed date
    container = build(Settings(database_url=f"sqlite:///{work / 'tocsin.db'}"))
    ends = [_last_time(container, i) for i in container.rules.ids.values()]
    assert all(started - 120 <= t <= time.time() for t in ends), ends
    now = container.clock.now()
    unsuppressed = {
        w.id
        for w in container.warnings.find(principal=SYSTEM)
        if not container.dispatcher.explain_delivery(w, now, principal=SYSTEM)["suppressed_by"]
    }
    container.close()
    # notifications reached the duty desk's file (every active warning not inhibited or
    # silenced), and the notification log shows them
    lines = (work / "notifications.jsonl").read_text().splitlines()
    # one public alert was drafted by duty, approved by supervisor, published and handed to
    # the demo's subscriber (its own file)
    (public,) = (work / "public-alerts.jsonl").read_text().splitlines()
    handed = json.loads(public)["payload"]
    assert handed["identifier"] == summary["public_alert"]
    read_independently(handed["cap"])
    assert summary["notifications"] == len(lines) + 1
    assert lines
    notified = {w["id"] for line in lines for w in json.loads(line)["payload"]["firing"]}
    assert unsuppressed
    assert unsuppressed <= notified
    code, log = invoke("notify", "log", "--db", f"sqlite:///{work / 'tocsin.db'}")
    assert code == 0
    assert all(json.loads(line)["key"] in log for line in lines)  # keys whole, at 80 columns
    # the what-if the demo writes runs with the files it printed (INFORM over the nations)
    what_if = next(line for line in out.splitlines() if line.startswith("what-if: "))
    code, out = invoke(*what_if.removeprefix("what-if: tocsin ").split())
    assert code == 0, out
    assert "ITA: 2.6 → 2.7" in out
    assert "assets failed: DC-1, HOSP-1, PLANT-1, SUB-1, WATER-1" in out


def _last_time(container: Any, indicator_id: int) -> int:
    with container.store.transaction() as tx:
        batch = tx.observations.read(indicator_id, limit=10_000_000)
    return int(batch.times[-1])


def test_reports_commands_make_a_key_list_types_and_delete_due_contacts(tmp_path: Path) -> None:
    from tocsin.adapters.contact_cipher import AesGcmContactCipher

    key = runner.invoke(app, ["reports", "new-key"])
    assert key.exit_code == 0
    AesGcmContactCipher(key.stdout.strip())  # a usable key
    config = write_small_config(tmp_path / "cfg")
    db = f"sqlite:///{tmp_path / 't.db'}"
    types = runner.invoke(app, ["reports", "types", "--db", db, "--config", str(config)])
    assert types.exit_code == 0
    assert "gas_smell" in types.stdout
    gone = runner.invoke(app, ["reports", "delete-contacts", "--db", db])
    assert gone.exit_code == 0
    assert "0 contact(s) deleted" in gone.stdout
    bad = runner.invoke(
        app, ["reports", "delete-contacts", "--db", db], env={"TOCSIN_REPORT_CONTACT_KEY": "x"}
    )
    assert bad.exit_code != 0
    assert "TOCSIN_REPORT_CONTACT_KEY" in bad.output
    assert "Traceback" not in bad.output


def test_notify_run_once_does_the_work_asked_for(tmp_path: Path) -> None:
    """`--work dispatch` writes notifications and sends none; `--work deliver` sends what is
    due (here to a closed port: retried) and dispatches nothing; a bad `--work` is refused."""
    from tests.e2e.faults import Plan, write_config

    config = write_config(tmp_path / "config", Plan(0, "sqlite", 1), "http://127.0.0.1:9/hook")
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    csv = tmp_path / "obs.csv"
    csv.write_text("indicator,time,value\nG00.level,2026-01-01T00:10:00Z,5.5\n")
    code, out = invoke("ingest", str(csv), "--db", db, "--config", str(config))
    assert code == 0, out
    run = ("notify", "run", "--once", "--db", db, "--config", str(config))
    code, out = invoke(*run, "--work", "dispatch")
    assert code == 0, out
    dispatched = json.loads(out.strip().splitlines()[-1])
    assert dispatched["notifications"] >= 1
    assert "delivered" not in dispatched
    code, out = invoke("notify", "log", "--db", db, "--status", "pending")
    assert code == 0, out
    assert "no notifications" not in out  # written, waiting in the outbox
    code, out = invoke(*run, "--work", "deliver")
    assert code == 0, out
    sent = json.loads(out.strip().splitlines()[-1])
    assert "transitions" not in sent
    assert sent["delivered"] + sent["retried"] + sent["failed"] >= 1
    code, out = invoke(*run, "--work", "everything")
    assert code != 0
    assert "--work" in out
