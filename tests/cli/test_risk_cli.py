"""`tocsin risk compute | explain | scenario | cascade` end to end."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tocsin.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
BENCH = Path(os.environ.get("TOCSIN_BENCHDATA", ROOT.parent / "shared" / "benchdata"))
INFORM = BENCH / "inform"
MODEL = ROOT / "models" / "inform_2023.yaml"
DATA = INFORM / "inform_risk_2023_v065_indicator_data.csv"

needs_inform = pytest.mark.skipif(not INFORM.is_dir(), reason="INFORM benchmark data not present")
runner = CliRunner()


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@needs_inform
def test_compute_writes_inform_scores_class_and_rank(tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    res = runner.invoke(
        app, ["risk", "compute", "--model", str(MODEL), "--input", str(DATA), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    rows = {r["ISO3"]: r for r in _read(out)}
    published = {r["ISO3"]: r for r in _read(INFORM / "inform_risk_2023_v065_scores.csv")}
    assert len(rows) == 191
    for iso, pub in published.items():
        got = rows[iso]
        assert float(got["INFORM"]) == float(pub["INFORM RISK"]), iso
        assert float(got["HA"]) == float(pub["HAZARD & EXPOSURE"]), iso
        assert got["class"] == pub["RISK CLASS"], iso
        assert int(got["rank"]) == int(pub["Rank"]), iso
    assert rows["ALB"]["CC.INS.DRR"] == ""  # missing stays missing


@needs_inform
def test_compute_selected_nodes_with_coverage(tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    args = ["risk", "compute", "--model", str(MODEL), "--input", str(DATA), "--out", str(out)]
    res = runner.invoke(app, [*args, "--node", "INFORM", "--node", "VU", "--coverage"])
    assert res.exit_code == 0, res.output
    with out.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header == [
        "ISO3", "COUNTRY", "INFORM", "INFORM:coverage", "VU", "VU:coverage", "class", "rank",
    ]  # fmt: skip


@needs_inform
def test_explain_shows_contributions(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "risk",
            "explain",
            "--model",
            str(MODEL),
            "--input",
            str(DATA),
            "--region",
            "AFG",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    by_node = {r["node"]: r for r in rows}
    assert by_node["INFORM"]["value"] == 8.1
    parts = {r["node"]: r["contribution"] for r in rows if r["parent"] == "INFORM"}
    # against the average country: INFORM = its value at the average + the three parts
    assert by_node["INFORM"]["base"] + sum(parts.values()) == pytest.approx(8.1, abs=1e-12)
    assert all(p > 0 for p in parts.values())  # Afghanistan is above average in all three
    assert parts["HA"] > parts["CC"]  # HA 8.9 is further above its average than CC 7.1


@needs_inform
def test_explain_unknown_region_is_a_clear_error() -> None:
    res = runner.invoke(
        app, ["risk", "explain", "--model", str(MODEL), "--input", str(DATA), "--region", "XXX"]
    )
    assert res.exit_code == 1
    assert "no region 'XXX'" in res.output


@needs_inform
def test_scenario_reports_changes_assets_and_sectors(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: flood +2 in Albania\n"
        "perturb:\n"
        "  - {target: HA.NAT.FL, op: add, amount: 2, regions: [ALB], clip: [0, 10]}\n"
        "fail_assets: [substation]\n"
        "assets:\n"
        "  - {code: substation, region: ALB}\n"
        "  - {code: waterworks, region: ALB, depends_on: [substation]}\n"
        "  - {code: hospital, region: ALB, requires: [[substation, generator], [waterworks]]}\n"
        "sectors: {names: [power, water], a_star: [[0, 0.8], [0.2, 0]]}\n"
        "demand: [{sector: water, amount: 0.6}]\n",
        encoding="utf-8",
    )
    out = tmp_path / "changes.csv"
    res = runner.invoke(
        app,
        [
            "risk", "scenario", "--model", str(MODEL), "--input", str(DATA),
            "--scenario", str(scenario), "--out", str(out),
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    changes = _read(out)
    assert {c["region"] for c in changes} == {"ALB"}
    fl = next(c for c in changes if c["node"] == "HA.NAT.FL")
    assert float(fl["delta"]) == pytest.approx(2.0)
    assert {"HA.NAT", "HA"} <= {c["node"] for c in changes}
    assert "waterworks" in res.output
    assert "hospital" in res.output
    assert "0.714" in res.output


def test_bad_model_names_file_path_and_reason(tmp_path: Path) -> None:
    model = tmp_path / "m.yaml"
    model.write_text(
        "id: m\nroot: R\ninputs: [a]\nnodes:\n  - {id: R, expr: '{b} + 1'}\n", encoding="utf-8"
    )
    data = tmp_path / "d.csv"
    data.write_text("id,a\nr1,1\n", encoding="utf-8")
    res = runner.invoke(
        app, ["risk", "compute", "--model", str(model), "--input", str(data), "--out", "x.csv"]
    )
    assert res.exit_code == 2
    assert "m.yaml" in res.output
    assert "unknown id 'b'" in res.output


def test_bad_csv_names_line_and_column(tmp_path: Path) -> None:
    model = tmp_path / "m.yaml"
    model.write_text("id: m\nroot: R\ninputs: [a]\nnodes:\n  - {id: R, expr: '{a} * 2'}\n")
    data = tmp_path / "d.csv"
    data.write_text("id,a\nr1,1\nr2,abc\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    res = runner.invoke(
        app, ["risk", "compute", "--model", str(model), "--input", str(data), "--out", str(out)]
    )
    assert res.exit_code == 2
    assert "line 3" in res.output
    assert "column a" in res.output


def test_cascade_iim_command() -> None:
    res = runner.invoke(
        app, ["risk", "cascade", "--a-star", "[[0,0.8],[0.2,0]]", "--c-star", "[0,0.6]"]
    )
    assert res.exit_code == 0, res.output
    assert [round(v, 3) for v in json.loads(res.output)] == [0.571, 0.714]


PERIOD_MODEL = """
id: yearly
name: Yearly index
root: R
table: {id_column: iso3, name_column: country}
defaults: {round: 1}
inputs: [{id: hz, name: "Hazard, observed"}, vu]
nodes:
  - {id: H, name: Hazard, expr: "{hz}", normalise: {lower: 0, upper: 10}}
  - {id: V, name: Vulnerability, expr: "{vu}", normalise: {lower: 0, upper: 1}}
  - {id: R, name: Risk, aggregate: {method: geometric, children: [H, V]}}
rank: [R]
"""


def _yearly(tmp_path: Path) -> tuple[Path, Path]:
    model = tmp_path / "yearly.yaml"
    model.write_text(PERIOD_MODEL, encoding="utf-8")
    data = tmp_path / "yearly.csv"
    data.write_text(
        "iso3,country,year,hz,vu\n"
        "AAA,Aland,2021,2,0.9\nBBB,Bel,2021,8,0.5\nCCC,Cor,2021,5,0.2\n"
        "AAA,Aland,2022,9,0.9\nBBB,Bel,2022,1,0.5\nCCC,Cor,2022,5,0.2\n",
        encoding="utf-8",
    )
    return model, data


def test_compute_over_periods_ranks_each_period(tmp_path: Path) -> None:
    model, data = _yearly(tmp_path)
    out = tmp_path / "scores.csv"
    args = ["risk", "compute", "--model", str(model), "--input", str(data), "--out", str(out)]
    res = runner.invoke(app, [*args, "--period-column", "year"])
    assert res.exit_code == 0, res.output
    assert "6 rows in 2 periods" in res.output
    rows = _read(out)
    assert list(rows[0]) == ["iso3", "country", "year", "H", "V", "R", "rank"]
    ranks = {(r["iso3"], r["year"]): r["rank"] for r in rows}
    assert ranks[("BBB", "2021")] == "1"
    assert ranks[("AAA", "2022")] == "1"


def test_explain_a_period_adds_up_as_printed(tmp_path: Path) -> None:
    model, data = _yearly(tmp_path)
    base = ["risk", "explain", "--model", str(model), "--input", str(data), "--region", "BBB"]
    args = [*base, "--period-column", "year", "--period", "2021"]
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    root = rows[0]
    assert root["value"] == 6.3  # sqrt(8 · 5)
    parts = [r["contribution"] for r in rows if r["parent"] == "R"]
    assert root["base"] + sum(parts) == pytest.approx(6.3, abs=1e-12)
    assert {r["name"] for r in rows if r["input"]} == {"Hazard, observed", "vu"}
    table = runner.invoke(app, [*args, "--reference", "zero"])
    assert table.exit_code == 0, table.output
    assert "BBB (2021)" in table.output
    assert "Hazard, observed" in table.output
    assert "+3.15" in table.output  # two equal halves of 6.3 against zero, at 2 decimals
    assert "0.3333333" not in table.output  # no full float precision on the page


def test_a_read_only_command_does_not_speak_of_storing(tmp_path: Path) -> None:
    model, data = _yearly(tmp_path)
    out = tmp_path / "o.csv"
    args = ["risk", "compute", "--model", str(model), "--input", str(data), "--out", str(out)]
    res = runner.invoke(app, args)  # no period column given: the ids repeat
    assert res.exit_code == 2
    assert "duplicate region ids" in res.output
    assert "stored" not in res.output


def test_an_unknown_function_is_named_on_the_command_line(tmp_path: Path) -> None:
    model = tmp_path / "m.yaml"
    model.write_text("id: m\nroot: R\ninputs: [a]\nnodes:\n  - {id: R, expr: 'pow({a}, 2)'}\n")
    data = tmp_path / "d.csv"
    data.write_text("id,a\nr1,1\n", encoding="utf-8")
    args = ["risk", "compute", "--model", str(model), "--input", str(data), "--out", "x.csv"]
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert "unknown function 'pow'" in res.output
    assert "allowed:" in res.output
