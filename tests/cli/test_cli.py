"""The command line as a user runs it: check-config, ingest, warnings, acknowledge, demo."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.conftest import BENCHDATA, REPO
from tocsin.cli.main import app
from tocsin.testing.scenario import small_config, write_small_config

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


def test_demo_runs_real_series_and_ends_with_a_json_summary(tmp_path: Path) -> None:
    code, out = invoke(
        "demo",
        "--no-serve",
        "--quiet",
        "--workdir",
        str(tmp_path / "demo"),
        "--benchdata",
        str(BENCHDATA),
    )
    assert code == 0, out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["series"] == 20
    assert summary["observations"] > 100_000
    assert summary["warnings"] > 0
    assert summary["transitions"]["warning.raised"] == summary["warnings"]
    # the what-if the demo writes: INFORM over the nations, the demo's assets
    code, out = invoke(
        "risk",
        "scenario",
        "--model",
        str(REPO / "models" / "inform_2023.yaml"),
        "--input",
        str(BENCHDATA / "inform" / "inform_risk_2023_v065_indicator_data.csv"),
        "--scenario",
        str(tmp_path / "demo" / "what-if.yaml"),
    )
    assert code == 0, out
    assert "ITA: 2.6 → 2.7" in out
    assert "assets failed: DC-1, HOSP-1, PLANT-1, SUB-1, WATER-1" in out
