"""INFORM Risk 2023 (v0.6.5) reproduced from the raw indicators by `models/inform_2023.yaml`.

Every node that names a workbook column (`meta.column`: the calculation sheets) or a published
score (`meta.score`: sheet "INFORM Risk 2023 (a-z)") is compared with the published value for all
191 countries, exactly (float equality: rounded scores are k/10, raw ratios bit for bit), plus the
risk class and rank. Zero mismatches are expected.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tocsin.adapters.risk_model_yaml import load_model
from tocsin.adapters.risk_tables_csv import read_indicator_csv
from tocsin.core.risk.classes import class_labels, rank_descending
from tocsin.core.risk.evaluate import RiskResult, evaluate
from tocsin.core.risk.explain import explain_region
from tocsin.core.risk.model import RiskModel
from tocsin.core.risk.table import IndicatorTable

ROOT = Path(__file__).resolve().parents[2]
BENCH = Path(os.environ.get("TOCSIN_BENCHDATA", ROOT.parent / "shared" / "benchdata"))
INFORM = BENCH / "inform"
SHEETS = {
    "Hazard & Exposure": "calc_hazard_exposure",
    "Vulnerability": "calc_vulnerability",
    "Lack of Coping Capacity": "calc_lack_of_coping_capacity",
}

pytestmark = pytest.mark.skipif(not INFORM.is_dir(), reason="INFORM benchmark data not present")


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _letters(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _published(text: str) -> float:
    text = text.strip()
    return math.nan if text in ("x", "") else float(text)


def _rows(name: str) -> list[list[str]]:
    with open(INFORM / f"inform_risk_2023_v065_{name}.csv", newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


@pytest.fixture(scope="module")
def inform() -> tuple[RiskModel, IndicatorTable, RiskResult]:
    model = load_model(ROOT / "models" / "inform_2023.yaml")
    table = read_indicator_csv(
        INFORM / "inform_risk_2023_v065_indicator_data.csv", model.table, required=model.input_ids
    )
    return model, table, evaluate(model, table.columns)


def _same(expected: float, got: float) -> bool:
    return (math.isnan(expected) and math.isnan(got)) or expected == got


def test_every_calculation_column_matches(
    inform: tuple[RiskModel, IndicatorTable, RiskResult],
) -> None:
    model, table, result = inform
    sheets = {s: {r[1]: r for r in _rows(f)[4:] if r[1]} for s, f in SHEETS.items()}
    checked = 0
    mismatches: list[str] = []
    for node in model.nodes:
        ref = node.meta.get("column")
        if not ref:
            continue
        sheet, letters = ref.split("!")
        j = _column_index(letters)
        for i, iso in enumerate(table.ids):
            expected = _published(sheets[sheet][iso][j])
            got = float(result.values[node.id][i])
            checked += 1
            if not _same(expected, got):
                mismatches.append(f"{node.id} ({ref}) {iso}: published {expected!r}, got {got!r}")
    mapped = {n.meta["column"] for n in model.nodes if n.meta.get("column")}
    assert checked == 191 * len(mapped)
    for sheet, name in SHEETS.items():  # every calculation column with a header is reproduced
        header = _rows(name)[0]
        wanted = {f"{sheet}!{_letters(j)}" for j, h in enumerate(header) if j >= 2 and h.strip()}
        assert wanted <= mapped, sorted(wanted - mapped)
    assert mismatches == []


def test_published_scores_class_and_rank_match(
    inform: tuple[RiskModel, IndicatorTable, RiskResult],
) -> None:
    model, table, result = inform
    rows = _rows("scores")
    header = rows[0]
    published = {r[1]: r for r in rows[1:]}
    assert len(published) == len(table.ids) == 191
    mismatches: list[str] = []
    scored = [n for n in model.nodes if n.meta.get("score")]
    first, last = header.index("HAZARD & EXPOSURE"), header.index("Access to health care")
    assert {n.meta["score"] for n in scored} == {"INFORM RISK", *header[first : last + 1]}
    for node in scored:
        j = header.index(node.meta["score"])
        for i, iso in enumerate(table.ids):
            expected = _published(published[iso][j])
            got = float(result.values[node.id][i])
            if not _same(expected, got):
                mismatches.append(f"{node.id} {iso}: published {expected!r}, got {got!r}")
    risk = result.values["INFORM"]
    labels = class_labels(risk, model.classes[0])
    ranks = rank_descending(risk)
    for i, iso in enumerate(table.ids):
        if labels[i] != published[iso][header.index("RISK CLASS")]:
            mismatches.append(f"class {iso}: {labels[i]}")
        if ranks[i] != float(published[iso][header.index("Rank")]):
            mismatches.append(f"rank {iso}: {ranks[i]}")
    assert mismatches == []


def test_rounding_only_at_the_end_would_not_reproduce(
    inform: tuple[RiskModel, IndicatorTable, RiskResult],
) -> None:
    """The comparison has teeth: the same model rounding only the final risk differs."""
    model, table, result = inform
    unrounded = replace(
        model, nodes=tuple(replace(n, round=1 if n.id == "INFORM" else None) for n in model.nodes)
    )
    other = evaluate(unrounded, table.columns)
    differs = other.values["INFORM"] != result.values["INFORM"]
    assert 0 < int(differs.sum()) < 191


def test_coverage_reports_missing_inequality_data(
    inform: tuple[RiskModel, IndicatorTable, RiskResult],
) -> None:
    _, table, result = inform
    gini = table.columns["GINI"]
    cov = result.coverage["VU.SEV.INQ"]
    assert np.all(cov[np.isnan(gini) & ~np.isnan(table.columns["GII"])] == 0.5)
    assert np.all((result.coverage["INFORM"] > 0.5) & (result.coverage["INFORM"] <= 1.0))


@pytest.mark.parametrize(("keep", "workers"), [(None, 1), (["INFORM", "HA"], 2)])
def test_blocked_threaded_evaluation_equals_one_block(
    inform: tuple[RiskModel, IndicatorTable, RiskResult], keep: list[str] | None, workers: int
) -> None:
    """191 countries × 50 = 9,550 regions in blocks of 1,000 (partly on 2 threads)."""
    model, table, result = inform
    big = {k: np.tile(v, 50) for k, v in table.columns.items()}
    blocked = evaluate(model, big, keep=keep, block=1000, workers=workers)
    for node in keep or model.node_ids:
        assert np.array_equal(
            blocked.values[node], np.tile(result.values[node], 50), equal_nan=True
        )
        assert np.array_equal(blocked.coverage[node], np.tile(result.coverage[node], 50))
    if keep is not None:
        assert set(blocked.values) == set(keep)


def test_every_explanation_adds_up(inform: tuple[RiskModel, IndicatorTable, RiskResult]) -> None:
    """For every 10th country, every node of the tree: its value at the average country plus
    its children's Shapley contributions is its published value."""
    model, table, result = inform
    checked = 0
    for row in range(0, len(table.ids), 10):
        rows = explain_region(model, result, row)
        for i, node in enumerate(rows):
            if node.is_input or node.base is None:
                continue
            parts = []  # the rows right under this one (a node may appear under several parents)
            for below in rows[i + 1 :]:
                if below.depth <= node.depth:
                    break
                if below.depth == node.depth + 1:
                    parts.append(below.contribution or 0.0)
            assert node.base + sum(parts) == pytest.approx(node.value, abs=1e-9), (
                table.ids[row],
                node.node,
            )
            checked += 1
    assert checked > 20 * 100


def test_compiled_kernels_reproduce_the_same_values(
    inform: tuple[RiskModel, IndicatorTable, RiskResult],
) -> None:
    """The fixture ran on the numpy kernels (191 rows); the compiled ones give the same bits."""
    model, table, result = inform
    compiled = evaluate(model, table.columns, compiled=True)
    for node in model.node_ids:
        assert np.array_equal(compiled.values[node], result.values[node], equal_nan=True), node
        assert np.array_equal(compiled.coverage[node], result.coverage[node]), node
