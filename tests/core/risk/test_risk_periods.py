"""A model runs over (region, period): tables with a period column, per-period ranks and
data-driven normalisations, explanations and classes for a chosen (or the latest) period."""

from __future__ import annotations

import numpy as np
import pytest

from tocsin.adapters.risk_model_yaml import parse_model
from tocsin.adapters.risk_tables_csv import parse_indicator_rows
from tocsin.core.errors import InvalidInput, NotFound
from tocsin.core.risk.evaluate import evaluate
from tocsin.core.risk.table import sort_periods
from tocsin.services import risk as service

MODEL = """
id: p
root: R
table: {id_column: code, period_column: year}
inputs: [a, b]
nodes:
  - {id: A, expr: "{a}", normalise: {lower: 0, upper: 10}}
  - {id: PR, expr: "{b}", normalise: {method: percentile_rank, range: [0, 1]}}
  - {id: R, aggregate: {method: mean, children: [A, B]}}
  - {id: B, expr: "{b}"}
classes:
  - {nodes: [R], thresholds: [3, 6], labels: [low, mid, high], levels: ["", yellow, red]}
rank: [R]
"""

ROWS = [
    ["code", "year", "a", "b"],
    ["X", "2021", "1", "10"],
    ["Y", "2021", "5", "20"],
    ["Z", "2021", "9", "30"],
    ["X", "2022", "9", "1"],
    ["Y", "2022", "5", "2"],
    ["Z", "2022", "", "3"],
]


def test_a_table_with_a_period_column_and_per_period_ranks() -> None:
    m = parse_model(MODEL)
    table = parse_indicator_rows(ROWS, m.table, required=m.input_ids)
    assert table.periods == ("2021",) * 3 + ("2022",) * 3
    assert table.latest_period() == "2022"
    result = service.compute(m, table)
    assert result.periods == table.periods
    # percentile ranks within each year (b is 10× larger in 2021: across years it would differ)
    assert result.values["PR"].tolist() == [0.0, 0.5, 1.0, 0.0, 0.5, 1.0]
    header, rows = service.score_rows(m, table, result, nodes=["R"])
    assert header == ["code", "name", "year", "R", "class", "rank"]
    assert [r[2] for r in rows] == list(table.periods)
    assert [r[-1] for r in rows] == [3.0, 2.0, 1.0, 1.0, 2.0, 3.0]


def test_rows_are_found_by_region_and_period() -> None:
    m = parse_model(MODEL)
    table = parse_indicator_rows(ROWS, m.table, required=m.input_ids)
    assert table.index_of("Y") == 4  # the latest period
    assert table.index_of("Y", "2021") == 1
    result = service.compute(m, table)
    rows = service.explain(m, table, result, "X", period="2021")
    assert rows[0].value == result.values["R"][0]
    with pytest.raises(NotFound, match="no period '1999'"):
        service.explain(m, table, result, "X", period="1999")


def test_warning_classes_come_from_the_latest_period() -> None:
    m = parse_model(MODEL)
    table = parse_indicator_rows(ROWS, m.table, required=m.input_ids)
    classes = service.region_classes(m, table, service.compute(m, table))
    assert {c.region for c in classes} == {"X", "Y", "Z"}
    x = next(c for c in classes if c.region == "X")
    assert x.value == (9 + 1) / 2  # 2022, not 2021


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([*ROWS, ["X", "2022", "1", "1"]], "duplicate regions in a period: X 2022"),
        ([*ROWS, ["W", "", "1", "1"]], "line 8: empty period"),
        ([["code", "a", "b"], ["X", "1", "2"]], "no period column 'year'"),
    ],
)
def test_period_problems_are_rejected_with_their_place(rows: list[list[str]], message: str) -> None:
    m = parse_model(MODEL)
    with pytest.raises(InvalidInput, match=message):
        parse_indicator_rows(rows, m.table, required=m.input_ids)


def test_data_driven_normalisation_without_periods_ranks_across_all_rows() -> None:
    m = parse_model(MODEL)
    b = np.array([10.0, 20.0, 30.0, 1.0, 2.0, 3.0])
    r = evaluate(m, {"a": np.ones(6), "b": b})
    assert r.values["PR"].tolist() == [0.6, 0.8, 1.0, 0.0, 0.2, 0.4]


def test_periods_sort_as_numbers_when_they_are_numbers() -> None:
    assert sort_periods(["2010", "999", "2009"]) == ("999", "2009", "2010")
    assert sort_periods(["2022-10", "2022-02"]) == ("2022-02", "2022-10")
