"""Cascades feed the index: failed or degraded assets change the indicators they support, from a
what-if or from live warnings on assets, and the composite risk of their regions moves."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tocsin.adapters.risk_model_yaml import parse_model
from tocsin.adapters.risk_scenario_yaml import scenario_from_mapping
from tocsin.bootstrap import build
from tocsin.cli.main import app
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.levels import Level
from tocsin.core.risk.infrastructure import AssetState
from tocsin.core.risk.model import RiskModel
from tocsin.core.risk.table import IndicatorTable
from tocsin.services import risk as service
from tocsin.services.alert_receiver import PrometheusAlert
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import write_small_config

SYSTEM = system_principal("test")

MODEL = """
id: districts
name: District risk
root: RISK
table: {id_column: code}
inputs: [electricity, water, physicians, hazard]
defaults: {round: 1}
nodes:
  - {id: ELEC, expr: "{electricity}", normalise: {lower: 0, upper: 100, direction: descending}}
  - {id: WATER, expr: "{water}", normalise: {lower: 0, upper: 100, direction: descending}}
  - {id: HEALTH, expr: "{physicians}", normalise: {lower: 0, upper: 50, direction: descending}}
  - {id: COPING, aggregate: {method: mean, children: [ELEC, WATER, HEALTH]}}
  - {id: HAZ, expr: "{hazard}", normalise: {lower: 0, upper: 10}}
  - {id: RISK, aggregate: {method: geometric, children: [HAZ, COPING]}}
classes:
  - {nodes: [RISK], thresholds: [3, 5], labels: [low, medium, high], levels: ["", yellow, red]}
asset_effects:
  - {kinds: [substation], target: electricity, failed: {op: set, amount: 0},
     degraded: {op: multiply, amount: 0.5}}
  - {kinds: [water_works], target: water, failed: {op: set, amount: 0}}
  - {kinds: [hospital], target: physicians, failed: {op: multiply, amount: 0.2}}
"""

TABLE = IndicatorTable(
    ids=("D11", "D12", "D21"),
    names=("District 11", "District 12", "District 21"),
    columns={
        "electricity": np.array([100.0, 100.0, 100.0]),
        "water": np.array([90.0, 95.0, 90.0]),
        "physicians": np.array([30.0, 40.0, 30.0]),
        "hazard": np.array([6.0, 6.0, 6.0]),
    },
)

ASSETS = {
    "assets": [
        {"code": "SUB", "region": "D11", "kind": "substation"},
        {"code": "WTR", "region": "D11", "kind": "water_works", "depends_on": ["SUB"]},
        {"code": "HSP", "region": "D12", "kind": "hospital", "depends_on": ["SUB", "WTR"]},
    ]
}


def _model() -> RiskModel:
    return parse_model(MODEL)


def test_a_failed_substation_raises_the_risk_of_the_districts_that_depend_on_it() -> None:
    spec = scenario_from_mapping({"name": "substation down", "fail_assets": ["SUB"], **ASSETS})
    m = _model()
    outcome = service.scenario(
        m, TABLE, spec.scenario, requirements=spec.requirements, sites=spec.sites
    )
    assert outcome.cascade is not None
    assert set(outcome.cascade.failed) == {"SUB", "WTR", "HSP"}
    applied = {(e.asset, e.target, e.region) for e in outcome.effects}
    assert applied == {
        ("SUB", "electricity", "D11"),
        ("WTR", "water", "D11"),
        ("HSP", "physicians", "D12"),
    }
    before, after = outcome.baseline["RISK"], outcome.scenario["RISK"]
    assert after[0] > before[0]
    assert after[1] > before[1]
    assert after[2] == before[2]  # D21 depends on none of them
    root = {c.region: c for c in outcome.changes if c.node == "RISK"}
    assert set(root) == {"D11", "D12"}
    assert (root["D11"].baseline_class, root["D11"].scenario_class) == (1, 2)  # medium → high


def test_a_degraded_asset_has_its_own_effect() -> None:
    spec = scenario_from_mapping({"degrade_assets": ["SUB"], **ASSETS})
    outcome = service.scenario(
        _model(), TABLE, spec.scenario, requirements=spec.requirements, sites=spec.sites
    )
    assert [(e.asset, e.state) for e in outcome.effects] == [("SUB", AssetState.DEGRADED)]
    assert outcome.scenario["ELEC"][0] == 5.0  # half the supply: 50 % → 5.0 (descending)
    assert outcome.scenario["ELEC"][1] == 0.0


def test_scenario_effects_add_to_the_models_and_unknown_targets_are_refused() -> None:
    extra = {
        "fail_assets": ["HSP"],
        "asset_effects": [
            {"assets": ["HSP"], "target": "HAZ", "failed": {"op": "add", "amount": 1}}
        ],
        **ASSETS,
    }
    spec = scenario_from_mapping(extra)
    outcome = service.scenario(
        _model(), TABLE, spec.scenario, requirements=spec.requirements, sites=spec.sites
    )
    assert {e.target for e in outcome.effects} == {"physicians", "HAZ"}
    assert outcome.scenario["HAZ"][1] == outcome.baseline["HAZ"][1] + 1
    bad = scenario_from_mapping({**extra, "asset_effects": [{"target": "NOPE"}]})
    with pytest.raises(Exception, match="NOPE"):
        service.scenario(
            _model(), TABLE, bad.scenario, requirements=bad.requirements, sites=bad.sites
        )


def test_live_warnings_on_assets_fail_them(sqlite_url: str, tmp_path: Path) -> None:
    config = write_small_config(tmp_path / "cfg")
    container = build(Settings(database_url=sqlite_url, config_dir=config), clock=FakeClock())
    try:
        result = container.alert_receiver.receive(
            [
                PrometheusAlert(
                    {
                        "alertname": "SubstationDown",
                        "region": "D11",
                        "domain": "infrastructure.power",
                        "asset": "SUB",
                        "level": "red",
                    }
                )
            ],
            principal=SYSTEM,
        )
        assert result.rejected == ()
        live = service.live_assets(
            container.warnings.find(open_only=True, principal=SYSTEM),
            container.catalog,
            failed_at=Level.RED,
        )
    finally:
        container.close()
    assert live.scenario.failed_assets == ("SUB",)
    outcome = service.scenario(
        _model(), TABLE, live.scenario, requirements=live.requirements, sites=live.sites
    )
    assert outcome.cascade is not None
    assert set(outcome.cascade.failed) == {"SUB", "WTR", "HSP"}
    assert outcome.scenario["RISK"][0] > outcome.baseline["RISK"][0]


def test_cli_scenario_from_live_warnings(sqlite_url: str, tmp_path: Path) -> None:
    config = write_small_config(tmp_path / "cfg")
    container = build(Settings(database_url=sqlite_url, config_dir=config), clock=FakeClock())
    try:
        container.alert_receiver.receive(
            [
                PrometheusAlert(
                    {
                        "alertname": "WaterWorksOffline",
                        "region": "D11",
                        "domain": "supply.water",
                        "asset": "WTR",
                        "level": "orange",
                    }
                ),
                PrometheusAlert(
                    {
                        "alertname": "HospitalDown",
                        "region": "D12",
                        "domain": "health",
                        "asset": "HSP",
                        "level": "red",
                    }
                ),
            ],
            principal=SYSTEM,
        )
    finally:
        container.close()
    model = tmp_path / "m.yaml"
    model.write_text(MODEL, encoding="utf-8")
    data = tmp_path / "d.csv"
    with data.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["code", *TABLE.columns])
        for i, code in enumerate(TABLE.ids):
            writer.writerow([code, *(TABLE.columns[c][i] for c in TABLE.columns)])
    out = tmp_path / "changes.csv"
    args = ["risk", "scenario", "--model", str(model), "--input", str(data), "--live"]
    res = CliRunner().invoke(app, [*args, "--db", sqlite_url, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "assets failed: HSP; degraded: WTR" in res.output
    assert "HSP failed: physicians in D12 multiply 0.2" in res.output
    with out.open(newline="", encoding="utf-8") as fh:
        changed = {(r["node"], r["region"]) for r in csv.DictReader(fh)}
    assert ("RISK", "D12") in changed
    assert ("WATER", "D11") not in changed  # degraded water works: no degraded effect defined
