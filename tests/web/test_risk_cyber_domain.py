"""The cyber exposure as a domain of the composite risk index (`live: cyber_exposure`), on
SQLite and PostgreSQL: the configured model's cyber node per region moves with an import and a
patch, equals the cyber model scored on the region's rolled-up exposure, and leaves the index of
a region without cyber data as its base model computes it."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tocsin.adapters.risk_model_yaml import load_model
from tocsin.adapters.risk_tables_csv import parse_indicator_rows, read_indicator_csv
from tocsin.adapters.vulnerability_feeds import parse_feed
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.exposure.advisories import Feed
from tocsin.core.exposure.regions import COLUMNS, table_rows
from tocsin.core.users import Role
from tocsin.services import risk as service
from tocsin.services.access import TokenRequest
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import exposure_config, write_small_config
from tocsin.web.app import create_web_app
from tocsin.web.risk import CYBER_MODEL, RiskSources

EXPOSURE = Path(__file__).parent.parent / "fixtures" / "exposure"
SYSTEM = system_principal("test")

BASE = """\
id: small_index
name: Small index
root: RISK
table: {id_column: region, name_column: name}
defaults: {round: 1}
inputs: [HAZ, VUL]
nodes:
  - {id: HA.NAT, expr: "{HAZ}", normalise: {lower: 0, upper: 100}}
  - {id: HA, aggregate: {method: inform_geometric, children: [HA.NAT]}}
  - {id: VU, expr: "{VUL}", normalise: {lower: 0, upper: 1}}
  - {id: RISK, aggregate: {method: geometric, children: [HA, VU]}}
"""
EXTENSION = """\
extends: base.yaml
id: small_cyber
name: Small index with cyber exposure
inputs:
  - {id: CY_SCORE, name: Cyber exposure score, live: cyber_exposure}
nodes:
  - {id: HA.CYB, name: Cyber exposure, expr: "{CY_SCORE}"}
  - {id: HA, aggregate: {method: inform_geometric, children: [HA.NAT, HA.CYB]}}
"""
TABLE = "region,name,HAZ,VUL\nN,Nation,40,0.5\nP1,Province One,30,0.4\nP2,Province Two,70,0.6\n"


def _sources(tmp_path: Path) -> RiskSources:
    (tmp_path / "base.yaml").write_text(BASE, encoding="utf-8")
    (tmp_path / "composite.yaml").write_text(EXTENSION, encoding="utf-8")
    (tmp_path / "table.csv").write_text(TABLE, encoding="utf-8")
    return RiskSources(tmp_path / "composite.yaml", tmp_path / "table.csv")


def _client(container: Container, sources: RiskSources) -> TestClient:
    container.admin.add_user("duty", Role.DUTY_OFFICER, unit="NAT", actor="test")
    token = container.access.issue("duty", TokenRequest("test"), actor="test")[1]
    app = create_web_app(container, risk=sources)
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def _nodes(client: TestClient, region: str) -> dict[str, Any]:
    tree = client.get(f"/api/v1/web/risk/{region}").json()
    assert tree["available"] is True, tree
    return {n["node"]: n["value"] for n in tree["nodes"]}


def _rolled_up(container: Container, districts: set[str]) -> float:
    """The cyber model scored on the districts' exposure summed (worst CVSS: the maximum) by
    hand: an independent roll-up of the rows `tocsin exposure regions` writes."""
    rows = [r for r in container.exposure.regions(principal=SYSTEM) if r.region in districts]
    totals: list[str] = []
    for k, name in enumerate(COLUMNS):
        present = [v for r in rows if (v := r.values()[k]) is not None]
        if present:
            totals.append(f"{max(present) if name == 'CY_MAX_CVSS' else sum(present):g}")
        else:
            totals.append("")
    header = table_rows([], {})[0]
    with resources.as_file(CYBER_MODEL) as path:
        model = load_model(path)
    cells = [header, ["X", "X", *totals]]
    table = parse_indicator_rows(cells, model.table, required=model.input_ids, where="test")
    return float(service.compute(model, table).values[model.root][0])


def test_the_cyber_domain_moves_with_the_exposure(db_url: str, tmp_path: Path) -> None:
    """An import raises P1's cyber domain and its hazard, a patch lowers them; P2, holding no
    asset, keeps the base model's index exactly."""
    config = write_small_config(tmp_path / "config", **exposure_config())
    container = build(Settings(database_url=db_url, config_dir=config), clock=FakeClock())
    sources = _sources(tmp_path)
    client = _client(container, sources)
    quiet = _nodes(client, "P1")
    assert quiet["HA.CYB"] == _rolled_up(container, {"D11", "D12"})
    for feed in ("nvd", "kev"):
        text = (EXPOSURE / f"{feed}.json").read_text(encoding="utf-8")
        found = parse_feed(Feed(feed), text, where=feed)
        container.exposure.import_advisories(found, principal=SYSTEM, where=feed)
    exposed = _nodes(client, "P1")
    assert exposed["HA.CYB"] > quiet["HA.CYB"]
    assert exposed["HA"] > quiet["HA"]
    assert exposed["RISK"] >= quiet["RISK"]
    assert exposed["HA.CYB"] == _rolled_up(container, {"D11", "D12"})
    assert _nodes(client, "N")["HA.CYB"] == exposed["HA.CYB"]  # N holds the same districts
    container.exposure.record_patch("SUB", "CVE-2021-41773", principal=SYSTEM, note="upgraded")
    patched = _nodes(client, "P1")
    assert patched["HA.CYB"] < exposed["HA.CYB"]
    assert patched["HA.CYB"] == _rolled_up(container, {"D11", "D12"})
    base = load_model(tmp_path / "base.yaml")
    table = read_indicator_csv(sources.table, base.table, required=base.input_ids)
    alone = service.compute(base, table).values["RISK"][table.ids.index("P2")]
    p2 = _nodes(client, "P2")
    assert p2["HA.CYB"] is None
    assert p2["RISK"] == float(alone)
    ranking = client.get("/api/v1/web/risk").json()
    assert ranking["model"] == "Small index with cyber exposure"
    container.close()
