"""Two published index shapes written in the language, checked against an independent
computation: a WorldRiskIndex-like model (country-years, geometric means, rounding at every level,
ranks per year, a coverage rule) and an ND-GAIN-like one (bounds and directions from a table,
neutral directions, a counting rule, the index as an expression of its two dimensions).

The expected values are computed here in plain Python, with decimal arithmetic for Excel's
rounding, not with the engine.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pytest

from tocsin.adapters.risk_model_yaml import load_model, parse_model
from tocsin.adapters.risk_tables_csv import parse_indicator_rows
from tocsin.core.risk.classes import rank_descending
from tocsin.core.risk.explain import explain_region
from tocsin.services import risk as service

NAN = math.nan


def excel_round(x: float, d: int) -> float:
    """ROUND(x, d) as Excel: half away from zero on the value to 15 significant digits."""
    if math.isnan(x):
        return x
    q = Decimal(f"{x:.15g}").quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_UP)
    return float(q)


def scaled(x: float, lo: float, hi: float, *, rising: bool, top: float) -> float:
    """Min–max to [0, top], clipped, in the engine's documented order of operations."""
    if math.isnan(x):
        return x
    if x > hi:
        return top if rising else 0.0
    if x < lo:
        return 0.0 if rising else top
    return top - (hi - x) / (hi - lo) * top if rising else 0.0 + (hi - x) / (hi - lo) * top


def mean(values: list[float]) -> float:
    present = [v for v in values if not math.isnan(v)]
    total = 0.0
    for v in present:
        total += v
    return total / len(present) if present else NAN


def geomean(values: list[float]) -> float:
    present = [v for v in values if not math.isnan(v)]
    if not present:
        return NAN
    product = 1.0
    for v in present:
        product *= v
    if len(present) == 2:
        return math.sqrt(product)
    if len(present) == 4:
        return math.sqrt(math.sqrt(product))
    return product if len(present) == 1 else math.pow(product, 1.0 / len(present))


# ---------------------------------------------------------------- WorldRiskIndex-like

WRI = """
id: wri_like
name: WorldRiskIndex-like (country-years)
root: WRI
table: {id_column: iso3, name_column: country, period_column: year}
defaults:
  round: 2
  normalise: {range: [0, 100]}
  aggregate: {method: mean}
inputs: [exp_eq, exp_fl, undernour, gdp_pc, physicians, education]
nodes:
  - {id: E_EQ, expr: "{exp_eq}", normalise: {lower: 0, upper: 0.4}}
  - {id: E_FL, expr: "{exp_fl}", normalise: {lower: 0, upper: 0.4}}
  - {id: EXPOSURE, aggregate: {method: geometric, children: [E_EQ, E_FL]}}
  - {id: S_NUT, expr: "{undernour}", normalise: {lower: 0, upper: 50}}
  - {id: S_GDP, expr: "{gdp_pc}",
     normalise: {scale: log10, lower: 2, upper: 5, direction: descending}}
  - {id: SUSCEPTIBILITY, aggregate: {children: [S_NUT, S_GDP]}}
  - {id: C_PHY, expr: "{physicians}", normalise: {lower: 0, upper: 5, direction: descending}}
  - {id: A_EDU, expr: "{education}", normalise: {lower: 0, upper: 100, direction: descending}}
  - {id: VULNERABILITY, aggregate: {method: geometric, children: [SUSCEPTIBILITY, C_PHY, A_EDU]},
     publish: "share_present(VULNERABILITY) >= 0.6"}
  - {id: WRI, expr: "sqrt({EXPOSURE} * {VULNERABILITY})"}
classes:
  - {nodes: [WRI], thresholds: [10, 20, 30], labels: [very low, low, high, very high]}
rank: [WRI]
"""


def _wri_table(seed: int = 7) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    header = ["iso3", "country", "year", "exp_eq", "exp_fl", "undernour", "gdp_pc",
              "physicians", "education"]  # fmt: skip
    rows = [header]
    for year in ("2020", "2021", "2022"):
        for c in range(25):
            cells = [
                f"{rng.uniform(0, 0.5):.4f}",
                f"{rng.uniform(0, 0.5):.4f}",
                f"{rng.uniform(0, 60):.2f}",
                f"{10 ** rng.uniform(2.2, 4.9):.0f}",
                f"{rng.uniform(0, 6):.2f}",
                f"{rng.uniform(20, 100):.1f}",
            ]
            for j in range(2, 6):  # missing vulnerability data, now and then
                if rng.random() < 0.12:
                    cells[j] = ""
            rows.append([f"C{c:02d}", f"Country {c}, {year[-2:]}", year, *cells])
    return rows


def r2(x: float) -> float:
    """The WorldRiskIndex-like model rounds to 2 decimals at every level."""
    return excel_round(x, 2)


def _wri_expected(row: dict[str, float]) -> dict[str, float]:
    e_eq = r2(scaled(row["exp_eq"], 0, 0.4, rising=True, top=100))
    e_fl = r2(scaled(row["exp_fl"], 0, 0.4, rising=True, top=100))
    exposure = r2(geomean([e_eq, e_fl]))
    s_nut = r2(scaled(row["undernour"], 0, 50, rising=True, top=100))
    gdp = row["gdp_pc"]
    s_gdp = r2(scaled(math.log10(gdp) if gdp > 0 else NAN, 2, 5, rising=False, top=100))
    sus = r2(mean([s_nut, s_gdp]))
    c_phy = r2(scaled(row["physicians"], 0, 5, rising=False, top=100))
    a_edu = r2(scaled(row["education"], 0, 100, rising=False, top=100))
    vul = r2(geomean([sus, c_phy, a_edu]))
    present = sum(
        not math.isnan(row[k]) for k in ("undernour", "gdp_pc", "physicians", "education")
    )
    if present / 4 < 0.6:
        vul = NAN
    return {"EXPOSURE": exposure, "VULNERABILITY": vul, "WRI": r2(math.sqrt(exposure * vul))}


def test_world_risk_index_shape_reproduced_exactly_per_country_year() -> None:
    m = parse_model(WRI)
    rows = _wri_table()
    table = parse_indicator_rows(rows, m.table, required=m.input_ids)
    assert table.period_labels() == ("2020", "2021", "2022")
    result = service.compute(m, table)
    header = rows[0]
    mismatches = []
    withheld = 0
    for i, raw in enumerate(rows[1:]):
        values = {h: float(c) if c else NAN for h, c in zip(header[3:], raw[3:], strict=True)}
        for node, want in _wri_expected(values).items():
            got = float(result.values[node][i])
            if not (got == want or (math.isnan(got) and math.isnan(want))):
                mismatches.append((raw[0], raw[2], node, want, got))
        withheld += math.isnan(result.values["VULNERABILITY"][i])
    assert mismatches == []
    assert 0 < withheld < 75  # the coverage rule withholds some country-years, not all


def test_world_risk_index_ranks_and_classes_per_year() -> None:
    m = parse_model(WRI)
    table = parse_indicator_rows(_wri_table(), m.table, required=m.input_ids)
    result = service.compute(m, table)
    header, rows = service.score_rows(m, table, result, nodes=["WRI"])
    assert header == ["iso3", "country", "year", "WRI", "class", "rank"]
    for year in ("2020", "2021", "2022"):
        in_year = [r for r in rows if r[2] == year]
        scored = sorted(
            (r for r in in_year if not math.isnan(float(r[3]))), key=lambda r: -float(r[3])
        )
        assert scored[0][5] == 1.0  # each year has its own first
        assert max(float(r[5]) for r in scored) <= len(scored)
    everything = rank_descending(result.values["WRI"])
    assert np.nanmax(everything) > 25  # ranked across years, there would be more than 25 ranks


def test_rounding_only_the_index_would_not_reproduce_the_world_risk_index_shape() -> None:
    m = parse_model(WRI)
    table = parse_indicator_rows(_wri_table(), m.table, required=m.input_ids)
    once = parse_model(
        WRI.replace("  round: 2\n", "").replace('expr: "sqrt(', 'round: 2, expr: "sqrt(')
    )
    a = service.compute(m, table).values["WRI"]
    b = service.compute(once, table).values["WRI"]
    both = ~np.isnan(a)
    assert int((a[both] != b[both]).sum()) > 0


def test_the_root_expression_is_split_and_adds_up() -> None:
    m = parse_model(WRI)
    table = parse_indicator_rows(_wri_table(), m.table, required=m.input_ids)
    result = service.compute(m, table)
    row = next(i for i in range(len(table.ids)) if not math.isnan(result.values["WRI"][i]))
    rows = explain_region(m, result, row)
    root = rows[0]
    parts = {r.node: r.contribution for r in rows if r.parent == "WRI"}
    assert set(parts) == {"EXPOSURE", "VULNERABILITY"}
    assert root.base is not None
    assert root.base + sum(p or 0.0 for p in parts.values()) == pytest.approx(root.value, abs=1e-9)


# ---------------------------------------------------------------- ND-GAIN-like

NDGAIN = """
id: ndgain_like
name: ND-GAIN-like
root: GAIN
table: {id_column: ISO3, period_column: year}
defaults:
  normalise: {range: [0, 1]}
  aggregate: {method: mean}
parameters:
  - file: indicators.csv
    key: id
    fields: {normalise.lower: min, normalise.upper: max, normalise.direction: direction,
             normalise.scale: log, name: name}
    values:
      normalise.direction: {1: ascending, -1: descending}
      normalise.scale: {0: linear, 1: log10}
inputs: [yield, dams, water_access, health_exp, gov_eff, gdp_pc]
nodes:
  - {id: V_YIELD, expr: "{yield}"}
  - {id: V_DAMS, expr: "{dams}"}
  - {id: V_WATER, expr: "{water_access}"}
  - {id: V_HEALTH, expr: "{health_exp}"}
  - {id: FOOD, aggregate: {children: [V_YIELD, V_DAMS]}}
  - {id: WATER_HEALTH, aggregate: {children: [V_WATER, V_HEALTH]}}
  - {id: VULNERABILITY, aggregate: {children: [FOOD, WATER_HEALTH]},
     publish: "count_present(VULNERABILITY) >= 3"}
  - {id: R_GOV, expr: "{gov_eff}"}
  - {id: R_ECON, expr: "{gdp_pc}"}
  - {id: READINESS, aggregate: {children: [R_GOV, R_ECON]}}
  - {id: GAIN, expr: "({READINESS} - {VULNERABILITY} + 1) * 50", round: 1}
rank: [GAIN]
"""

INDICATORS = """id,name,min,max,direction,log
V_YIELD,Projected change of cereal yields,-0.5,0.2,-1,0
V_DAMS,Dam capacity,0,2000,-1,0
V_WATER,"Access to reliable drinking water, share",20,100,-1,0
V_HEALTH,Health expenditure,1,4,-1,1
R_GOV,Government effectiveness,-2.5,2.5,1,0
R_ECON,GDP per capita,2,5,1,1
"""

BOUNDS = {
    "V_YIELD": ("yield", -0.5, 0.2, False, False),
    "V_DAMS": ("dams", 0, 2000, False, False),
    "V_WATER": ("water_access", 20, 100, False, False),
    "V_HEALTH": ("health_exp", 1, 4, False, True),
    "R_GOV": ("gov_eff", -2.5, 2.5, True, False),
    "R_ECON": ("gdp_pc", 2, 5, True, True),
}


def _ndgain_expected(row: dict[str, float]) -> dict[str, float]:
    s = {}
    for node, (col, lo, hi, rising, log) in BOUNDS.items():
        x = row[col]
        s[node] = scaled(math.log10(x) if log and x > 0 else x, lo, hi, rising=rising, top=1.0)
    vul = mean([mean([s["V_YIELD"], s["V_DAMS"]]), mean([s["V_WATER"], s["V_HEALTH"]])])
    present = sum(not math.isnan(row[c]) for c in ("yield", "dams", "water_access", "health_exp"))
    vul = vul if present >= 3 else NAN
    ready = mean([s["R_GOV"], s["R_ECON"]])
    return {
        "VULNERABILITY": vul,
        "READINESS": ready,
        "GAIN": excel_round((ready - vul + 1) * 50, 1),
    }


def _ndgain_rows(seed: int = 11) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    rows = [["ISO3", "year", "yield", "dams", "water_access", "health_exp", "gov_eff", "gdp_pc"]]
    for year in (2019, 2020):
        for c in range(30):
            cells = [
                f"{rng.uniform(-0.6, 0.3):.3f}",
                f"{rng.uniform(0, 2500):.0f}",
                f"{rng.uniform(10, 100):.1f}",
                f"{10 ** rng.uniform(0.5, 4.2):.1f}",
                f"{rng.uniform(-2.8, 2.6):.2f}",
                f"{10 ** rng.uniform(2.1, 5.1):.0f}",
            ]
            for j in range(4):
                if rng.random() < 0.15:
                    cells[j] = ""
            rows.append([f"K{c:02d}", str(year), *cells])
    return rows


def test_nd_gain_shape_from_a_parameter_table_reproduced_exactly(tmp_path: Path) -> None:
    (tmp_path / "indicators.csv").write_text(INDICATORS, encoding="utf-8")
    (tmp_path / "ndgain.yaml").write_text(NDGAIN, encoding="utf-8")
    m = load_model(tmp_path / "ndgain.yaml")
    assert m.node("V_WATER").name == "Access to reliable drinking water, share"
    rows = _ndgain_rows()
    table = parse_indicator_rows(rows, m.table, required=m.input_ids)
    result = service.compute(m, table)
    mismatches = []
    for i, raw in enumerate(rows[1:]):
        values = {h: float(c) if c else NAN for h, c in zip(rows[0][2:], raw[2:], strict=True)}
        for node, want in _ndgain_expected(values).items():
            got = float(result.values[node][i])
            same = got == want or (math.isnan(got) and math.isnan(want))
            if not same and not (node != "GAIN" and got == pytest.approx(want, rel=1e-12)):
                mismatches.append((raw[0], raw[1], node, want, got))
    assert mismatches == []
    withheld = np.isnan(result.values["VULNERABILITY"])
    assert 0 < int(withheld.sum()) < 60
    assert np.isnan(result.values["GAIN"][withheld]).all()  # no index without vulnerability


def test_nd_gain_root_expression_split_against_zero(tmp_path: Path) -> None:
    (tmp_path / "indicators.csv").write_text(INDICATORS, encoding="utf-8")
    (tmp_path / "ndgain.yaml").write_text(NDGAIN.replace(", round: 1}", "}"), encoding="utf-8")
    m = load_model(tmp_path / "ndgain.yaml")
    table = parse_indicator_rows(_ndgain_rows(), m.table, required=m.input_ids)
    result = service.compute(m, table)
    row = int(np.flatnonzero(~np.isnan(result.values["GAIN"]))[0])
    rows = explain_region(m, result, row, reference="zero")
    parts = {r.node: r.contribution for r in rows if r.parent == "GAIN"}
    ready = float(result.values["READINESS"][row])
    vul = float(result.values["VULNERABILITY"][row])
    assert rows[0].base == 50.0  # (0 − 0 + 1)·50
    assert parts["READINESS"] == pytest.approx(50 * ready, abs=1e-9)
    assert parts["VULNERABILITY"] == pytest.approx(-50 * vul, abs=1e-9)
