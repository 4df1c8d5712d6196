"""The risk service: score rows, classes for warnings, explanations, scenarios."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tocsin.adapters.risk_model_yaml import model_from_mapping
from tocsin.core.errors import NotFound
from tocsin.core.risk.adjustments import AdjustOp
from tocsin.core.risk.model import RiskModel
from tocsin.core.risk.scenarios import Perturbation, RegionSelector, Scenario
from tocsin.core.risk.table import IndicatorTable
from tocsin.services import risk


def _model() -> RiskModel:
    return model_from_mapping(
        {
            "id": "m",
            "root": "R",
            "table": {"id_column": "code", "name_column": "name"},
            "defaults": {"round": 1},
            "inputs": ["a", "b"],
            "nodes": [
                {"id": "A", "expr": "{a}", "normalise": {"lower": 0, "upper": 100}},
                {"id": "B", "expr": "{b}", "normalise": {"lower": 0, "upper": 10}},
                {"id": "R", "aggregate": {"method": "inform_geometric", "children": ["A", "B"]}},
            ],
            "classes": [
                {
                    "nodes": ["R"],
                    "thresholds": [2, 5, 8],
                    "labels": ["low", "medium", "high", "very high"],
                    "levels": ["", "yellow", "orange", "red"],
                }
            ],
            "rank": ["R"],
        }
    )


TABLE = IndicatorTable(
    ids=("r1", "r2", "r3"),
    names=("One", "Two", "Three"),
    columns={"a": np.array([10.0, 60.0, math.nan]), "b": np.array([1.0, 9.0, 5.0])},
)


def test_score_rows_have_values_class_and_rank() -> None:
    m = _model()
    header, rows = risk.score_rows(m, TABLE, risk.compute(m, TABLE))
    assert header == ["code", "name", "A", "B", "R", "class", "rank"]
    r2 = dict(zip(header, rows[1], strict=True))
    assert r2["class"] == "high"
    assert r2["rank"] == 1.0
    r3 = dict(zip(header, rows[2], strict=True))
    assert r3["R"] == 5.0  # A missing: R is B alone
    assert r3["class"] == "high"


def test_region_classes_give_thresholds_and_levels_for_warnings() -> None:
    m = _model()
    classes = {c.region: c for c in risk.region_classes(m, TABLE, risk.compute(m, TABLE))}
    r1 = classes["r1"]
    assert (r1.label, r1.level, r1.lower, r1.upper) == ("low", "", -math.inf, 2.0)
    r2 = classes["r2"]
    assert (r2.label, r2.level, r2.lower, r2.upper) == ("high", "orange", 5.0, 8.0)


def test_explain_and_unknown_region() -> None:
    m = _model()
    result = risk.compute(m, TABLE)
    rows = risk.explain(m, TABLE, result, "r2")
    assert [r.node for r in rows] == ["R", "A", "a", "B", "b"]
    with pytest.raises(NotFound):
        risk.explain(m, TABLE, result, "nope")


def test_scenario_raises_a_region_into_a_warning_class() -> None:
    m = _model()
    what_if = Scenario(
        "b up in r1",
        perturbations=(
            Perturbation("B", AdjustOp.ADD, 8.0, RegionSelector(regions=("r1",)), (0.0, 10.0)),
        ),
    )
    outcome = risk.scenario(m, TABLE, what_if)
    header, rows = risk.change_rows(outcome, m)
    changed = [dict(zip(header, r, strict=True)) for r in rows]
    root = next(c for c in changed if c["node"] == "R")
    assert root["region"] == "r1"
    assert root["scenario"] == 6.5  # G(1, 9) = 6.5 (METHOD.md: G(9, 1) = 6.5)
    assert (root["baseline_class"], root["scenario_class"]) == ("low", "high")
    with pytest.raises(NotFound):
        risk.scenario(m, TABLE, Scenario("x", perturbations=(Perturbation("Z", AdjustOp.SET, 1),)))
