"""The index engine: expressions, rounding, normalisation, operators, missing data, classes."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.adapters.risk_model_yaml import model_from_mapping
from tocsin.core.errors import InvalidConfig
from tocsin.core.risk.adjustments import AdjustOp, NodeAdjustment
from tocsin.core.risk.classes import class_index, class_view, rank_descending
from tocsin.core.risk.evaluate import evaluate
from tocsin.core.risk.explain import explain_region
from tocsin.core.risk.expressions import ExpressionError, compile_expression, evaluate_expression
from tocsin.core.risk.kernels import round_half_up
from tocsin.core.risk.normalisation import percentile_rank


def model(nodes: list[dict[str, object]], inputs: list[str], **extra: object):  # type: ignore[no-untyped-def]
    """A model from plain data, with the last node as root unless told."""
    data = {"id": "t", "root": extra.pop("root", nodes[-1]["id"]), "inputs": inputs, "nodes": nodes}
    data.update(extra)
    return model_from_mapping(data)


def arr(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


# ---------------------------------------------------------------- expressions


def test_expression_reads_braced_ids_and_functions() -> None:
    expr = compile_expression("coalesce({A-1}, 0.101 * ln({B.C}) - 0.153) + min({A-1}, 2)")
    assert expr.names == ("A-1", "B.C")
    out = evaluate_expression(expr, {"A-1": arr(0.5, math.nan), "B.C": arr(1.0, math.e)}, 2)
    assert out[0] == pytest.approx(1.0)
    assert out[1] == pytest.approx(0.101 - 0.153 + 2)  # min ignores the missing argument


@pytest.mark.parametrize(
    "source", ["__import__('os')", "x.real", "open('f')", "[1, 2]", "'text'", "lambda: 1", "f(x=1)"]
)
def test_expression_rejects_anything_but_arithmetic(source: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(source)


def test_expression_conditionals_and_missing() -> None:
    expr = compile_expression("10 if x > 5 and not missing(x) else where(x == 1, 1, 0)")
    out = evaluate_expression(expr, {"x": arr(6, 1, 3, math.nan)}, 4)
    assert out.tolist() == [10, 1, 0, 0]


# ---------------------------------------------------------------- rounding


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.15, 1.2),
        (2.25, 2.3),
        (0.35, 0.4),
        (-1.25, -1.3),
        (7.45, 7.5),
        (1.149999, 1.1),
        (0.04, 0.0),
    ],
)
def test_round_half_away_from_zero_like_excel(value: float, expected: float) -> None:
    assert round_half_up(arr(value), 1)[0] == expected


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.integers(0, 4))
def test_round_matches_decimal_on_15_significant_digits(value: float, decimals: int) -> None:
    exact = Decimal(f"{value:.15g}").quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    assert round_half_up(arr(value), decimals)[0] == float(exact)


# ---------------------------------------------------------------- normalisation and operators


def test_bounds_normalisation_linear_log_inverted_and_clipped() -> None:
    m = model(
        [
            {"id": "lin", "expr": "{a}", "normalise": {"lower": 0, "upper": 50}},
            {
                "id": "inv",
                "expr": "{a}",
                "normalise": {"lower": 0, "upper": 50, "direction": "higher_is_better"},
            },
            {"id": "log", "expr": "{a}", "normalise": {"scale": "log10", "lower": 0, "upper": 2}},
            {"id": "free", "expr": "{a}", "normalise": {"lower": 0, "upper": 50, "clip": False}},
            {"id": "root", "aggregate": {"method": "max", "children": ["lin", "inv", "log"]}},
        ],
        ["a"],
    )
    r = evaluate(m, {"a": arr(0, 10, 100, math.nan)})
    assert r["lin"].tolist()[:3] == [0, 2, 10]
    assert r["inv"].tolist()[:3] == [10, 8, 0]
    assert r["log"].tolist()[:3] == [0, 5, 10]  # log10(0) is below any bound
    assert r["free"][2] == 20
    assert all(math.isnan(r[n][3]) for n in ("lin", "inv", "log", "root"))


def test_inform_geometric_operator_by_hand() -> None:
    m = model(
        [
            {
                "id": "g",
                "round": None,
                "aggregate": {"method": "inform_geometric", "children": ["a", "b"]},
            }
        ],
        ["a", "b"],
    )
    r = evaluate(m, {"a": arr(10, 9, 4, 0), "b": arr(0, 1, 4, 0)})
    by_hand = [
        (10 / 9) * (10 - math.sqrt((10 - 0.9 * a) * (10 - 0.9 * b))) for a, b in [(10, 0), (9, 1)]
    ]
    assert r["g"][:2] == pytest.approx(by_hand)
    assert r["g"][0] == pytest.approx(7.597, abs=1e-3)  # dominated by the highest score
    assert r["g"][2:] == pytest.approx([4, 0], abs=1e-12)


def test_weighted_mean_skips_missing_and_renormalises() -> None:
    m = model(
        [
            {
                "id": "m",
                "aggregate": {"method": "mean", "children": ["a", {"id": "b", "weight": 2}, "c"]},
            }
        ],
        ["a", "b", "c"],
    )
    r = evaluate(
        m, {"a": arr(1, 1, math.nan), "b": arr(4, math.nan, math.nan), "c": arr(7, 3, math.nan)}
    )
    assert r["m"][0] == pytest.approx((1 + 8 + 7) / 4)
    assert r["m"][1] == pytest.approx(2)
    assert math.isnan(r["m"][2])
    assert r.coverage["m"].tolist() == [1.0, 0.5, 0.0]


def test_propagate_min_present_substitution_floor_cap_and_rounding() -> None:
    nodes: list[dict[str, object]] = [
        {"id": "p", "aggregate": {"method": "sum", "children": ["a", "b"], "missing": "propagate"}},
        {"id": "k", "aggregate": {"method": "mean", "children": ["a", "b"], "min_present": 2}},
        {
            "id": "s",
            "aggregate": {"method": "mean", "children": ["a", {"id": "b", "if_missing": 10}]},
        },
        {"id": "f", "expr": "{a} * 3", "floor": 1, "cap": 5, "round": 0},
        {"id": "x", "aggregate": {"method": "product", "children": ["a", "b"]}},
        {"id": "root", "aggregate": {"method": "geometric", "children": ["p", "k", "s", "f", "x"]}},
    ]
    r = evaluate(model(nodes, ["a", "b"]), {"a": arr(0.1, 2.5), "b": arr(math.nan, 4)})
    assert math.isnan(r["p"][0])
    assert r["p"][1] == 6.5
    assert math.isnan(r["k"][0])
    assert r["k"][1] == 3.25
    assert r["s"][0] == pytest.approx(5.05)
    assert r["f"].tolist() == [1, 5]
    assert r["x"].tolist() == [0.1, 10]


def test_cases_first_match_wins_and_see_raw_and_value() -> None:
    m = model(
        [
            {
                "id": "c",
                "expr": "{a}",
                "normalise": {"lower": 0, "upper": 10},
                "cases": [
                    {"when": "raw == 0", "value": 0.1},
                    {"when": "missing(raw)", "value": "nan"},
                    {"when": "value > 5", "value": "value * 2"},
                    {"when": "value > 3", "value": 99},
                ],
            }
        ],
        ["a"],
    )
    assert evaluate(m, {"a": arr(0, 4, 6, math.nan)})["c"][:3].tolist() == [0.1, 99, 12]


def test_percentile_rank_as_the_social_vulnerability_index_uses_it() -> None:
    assert percentile_rank(arr(10, 20, 20, 40, math.nan)).tolist()[:4] == [0, 1 / 3, 1 / 3, 1]


def test_node_adjustment_propagates_upwards() -> None:
    m = model(
        [
            {"id": "h", "expr": "{a}"},
            {"id": "root", "aggregate": {"method": "mean", "children": ["h", "b"]}},
        ],
        ["a", "b"],
    )
    inputs = {"a": arr(2, 2), "b": arr(4, 4)}
    adj = NodeAdjustment("h", AdjustOp.ADD, 2.0, np.array([False, True]), (0, 10))
    r = evaluate(m, inputs, adjustments=[adj])
    assert r["root"].tolist() == [3, 4]


def test_explanations_add_up_to_the_parent() -> None:
    m = model(
        [
            {
                "id": "x",
                "round": None,
                "aggregate": {"method": "inform_geometric", "children": ["a", "b"]},
            },
            {
                "id": "y",
                "round": None,
                "aggregate": {"method": "mean", "children": ["x", {"id": "b", "weight": 3}]},
            },
        ],
        ["a", "b"],
    )
    r = evaluate(m, {"a": arr(7.0, 1.0, 3.0), "b": arr(2.0, 6.0, 5.0)})
    rows = explain_region(m, r, 0)
    for parent in ("x", "y"):
        (node,) = [e for e in rows if e.node == parent]
        parts = [e.contribution for e in rows if e.parent == parent and e.contribution is not None]
        assert node.base is not None
        assert node.base + sum(parts) == pytest.approx(r[parent][0], abs=1e-12)


# ---------------------------------------------------------------- classes, ranks, validation


def test_classes_and_ranks_with_ties() -> None:
    assert class_index(arr(1.99, 2.0, 5.0, 6.5, 9.0), (2.0, 3.5, 5.0, 6.5)).tolist() == [
        0,
        1,
        3,
        4,
        4,
    ]
    assert rank_descending(arr(5, 7, 7, 1)).tolist() == [3, 1, 1, 4]


def test_class_view_gives_bounds_and_levels_for_warnings() -> None:
    m = model(
        [{"id": "r", "expr": "{a}"}],
        ["a"],
        classes=[
            {
                "nodes": ["r"],
                "thresholds": [2, 5],
                "labels": ["low", "mid", "high"],
                "levels": ["", "yellow", "red"],
            }
        ],
    )
    view = class_view(m, evaluate(m, {"a": arr(1, 3, 7)}), "r")
    assert view.labels == ("low", "mid", "high")
    assert view.levels == ("", "yellow", "red")
    assert view.lower.tolist() == [-math.inf, 2, 5]
    assert view.upper.tolist() == [2, 5, math.inf]


def test_invalid_models_list_every_problem_with_its_path() -> None:
    with pytest.raises(InvalidConfig) as err:
        model(
            [
                {"id": "a1", "expr": "{nope} + 1"},
                {"id": "b1", "aggregate": {"method": "median", "children": ["a1"]}},
                {"id": "c1", "expr": "{a", "normalise": {"lower": 3, "upper": 1}},
            ],
            ["a"],
        )
    text = str(err.value)
    assert "nodes[1] (b1).aggregate.method" in text
    with pytest.raises(InvalidConfig) as err2:
        model([{"id": "a1", "expr": "{nope} + 1"}], ["a"])
    assert "unknown id 'nope'" in str(err2.value)
    with pytest.raises(InvalidConfig, match="cycle"):
        model([{"id": "a1", "expr": "{b1}"}, {"id": "b1", "expr": "{a1}"}], ["a"])


@pytest.mark.parametrize(
    "text", ["1.15", "2.675", "1.005", "0.285", "123456.15", "12345678901.05", "98765.4321005"]
)
def test_round_decimal_halves_up_at_any_magnitude(text: str) -> None:
    value = float(text)
    for decimals in range(6):
        exact = Decimal(text).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        assert round_half_up(arr(value), decimals)[0] == float(exact), (text, decimals)
