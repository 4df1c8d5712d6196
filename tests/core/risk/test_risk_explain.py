"""Explanations: exact Shapley values over a node's inputs that add up, for every operator."""

from __future__ import annotations

import math
from itertools import permutations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.adapters.risk_model_yaml import model_from_mapping, parse_model
from tocsin.core.risk.evaluate import evaluate
from tocsin.core.risk.explain import explain_region, shapley, split_node
from tocsin.core.risk.model import Method, RiskModel

NAN = math.nan


def one_operator(
    method: str, *, weights: list[float] | None = None, rounding: int | None = None
) -> RiskModel:
    aggregate: dict[str, object] = {"method": method, "children": ["A", "B", "C"]}
    if weights is not None:
        aggregate["weights"] = weights
    return model_from_mapping(
        {
            "id": "t",
            "root": "P",
            "inputs": [{"id": "a", "name": "Exposure to floods"}, "b", "c"],
            "nodes": [
                {"id": "A", "expr": "{a}"},
                {"id": "B", "expr": "{b}"},
                {"id": "C", "expr": "{c}"},
                {"id": "P", "aggregate": aggregate, "round": rounding},
            ],
        }
    )


def test_shapley_matches_the_permutation_definition() -> None:
    rng = np.random.default_rng(5)
    game = rng.normal(size=8)  # any game on 3 players (bit j = player j)
    by_orders = np.zeros(3)
    orders = list(permutations(range(3)))
    for order in orders:
        mask = 0
        for j in order:
            by_orders[j] += game[mask | (1 << j)] - game[mask]
            mask |= 1 << j
    assert shapley(game, 3) == pytest.approx(by_orders / len(orders))


COLUMNS = st.lists(st.floats(0.0, 10.0), min_size=3, max_size=3)


@settings(max_examples=60, deadline=None)
@given(
    method=st.sampled_from(list(Method)),
    rows=st.lists(COLUMNS, min_size=2, max_size=6),
    rounding=st.sampled_from([None, 1]),
    reference=st.sampled_from(["average", "zero"]),
)
def test_every_operator_adds_up(
    method: Method, rows: list[list[float]], rounding: int | None, reference: str
) -> None:
    m = one_operator(method.value, weights=[1.0, 2.0, 0.5], rounding=rounding)
    data = np.array(rows)
    r = evaluate(m, {"a": data[:, 0], "b": data[:, 1], "c": data[:, 2]})
    for row in range(len(rows)):
        split = split_node(m, m.node("P"), r, row, reference=reference)
        if math.isnan(split.value):
            continue
        assert split.base is not None, split.note
        total = split.base + sum(split.contributions.values())
        assert total == pytest.approx(split.value, abs=1e-9)


def test_a_mean_against_zero_gives_the_classic_shares() -> None:
    m = one_operator("mean", weights=[1.0, 2.0, 1.0])
    r = evaluate(m, {"a": np.array([4.0]), "b": np.array([8.0]), "c": np.array([1.0])})
    split = split_node(m, m.node("P"), r, 0, reference="zero")
    assert split.base == 0.0
    assert split.contributions == pytest.approx({"A": 1.0, "B": 4.0, "C": 0.25})


def test_a_geometric_mean_near_one_is_split_without_blowing_up() -> None:
    """Issue 20: log-shares split an exposure of 1.02 as +29.7, −38.9, −38.9."""
    m = one_operator("geometric")
    a, b, c = 1.3, 0.9, 0.89
    r = evaluate(m, {"a": np.array([a, 1.0]), "b": np.array([b, 1.0]), "c": np.array([c, 1.0])})
    value = r["P"][0]
    assert abs(value - 1.0) < 0.02  # log-terms nearly cancel here
    for reference in ("average", "zero"):
        split = split_node(m, m.node("P"), r, 0, reference=reference)
        assert split.base is not None
        assert split.base + sum(split.contributions.values()) == pytest.approx(value)
        assert all(abs(p) <= 1.0 for p in split.contributions.values())
    against_average = split_node(m, m.node("P"), r, 0).contributions
    assert against_average["A"] > 0 > against_average["C"]  # above and below the average


def test_equal_children_share_equally_and_a_missing_child_contributes_nothing() -> None:
    m = one_operator("inform_geometric")
    r = evaluate(
        m, {"a": np.array([6.0, 2.0]), "b": np.array([6.0, 3.0]), "c": np.array([NAN, 1.0])}
    )
    split = split_node(m, m.node("P"), r, 0, reference="zero")
    assert split.contributions["A"] == pytest.approx(split.contributions["B"])
    assert split.contributions["C"] == 0.0
    assert split.base is not None
    assert split.base + split.contributions["A"] * 2 == pytest.approx(r["P"][0])


def test_children_of_a_withheld_parent_contribute_nothing_and_inputs_show_names() -> None:
    m = parse_model(
        """
id: t
root: P
inputs: [{id: a, name: Exposure to floods}, b, c]
nodes:
  - {id: A, expr: "{a}"}
  - {id: B, expr: "{b}"}
  - {id: C, expr: "{c}"}
  - {id: P, aggregate: {method: mean, children: [A, B, C]}, publish: "count_present(P) >= 3"}
"""
    )
    r = evaluate(
        m, {"a": np.array([1.0, 1.0]), "b": np.array([2.0, 2.0]), "c": np.array([NAN, 3.0])}
    )
    rows = explain_region(m, r, 0)
    assert math.isnan(rows[0].value)
    assert rows[0].base is None
    assert "withheld" in rows[0].note
    kids = [e for e in rows if e.parent == "P"]
    assert [k.contribution for k in kids] == [None, None, None]
    names = {e.node: e.name for e in rows}
    assert names["a"] == "Exposure to floods"  # inputs by name
    assert names["b"] == "b"  # no name given: the id
    full = explain_region(m, r, 1)
    assert full[0].base is not None
    parts = [e.contribution or 0.0 for e in full if e.parent == "P"]
    assert full[0].base + sum(parts) == pytest.approx(2.0)


def test_against_another_region_the_base_is_that_region() -> None:
    m = one_operator("max")
    r = evaluate(
        m, {"a": np.array([9.0, 2.0]), "b": np.array([1.0, 5.0]), "c": np.array([3.0, 4.0])}
    )
    split = split_node(m, m.node("P"), r, 0, reference="R2", codes=("R1", "R2"))
    assert split.base is not None
    assert split.base == r["P"][1]
    assert split.base + sum(split.contributions.values()) == pytest.approx(r["P"][0])


def test_a_percentile_ranked_node_is_split_against_the_fixed_distribution() -> None:
    m = parse_model(
        """
id: t
root: P
inputs: [a, b]
nodes:
  - {id: P, aggregate: {method: sum, children: [a, b]},
     normalise: {method: percentile_rank, range: [0, 1]}}
"""
    )
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    b = np.array([5.0, 1.0, 4.0, 2.0, 9.0])
    r = evaluate(m, {"a": a, "b": b})
    for row in range(5):
        split = split_node(m, m.node("P"), r, row)
        assert split.base is not None
        assert split.base + sum(split.contributions.values()) == pytest.approx(r["P"][row])


def test_a_mean_of_many_children_is_split_in_closed_form() -> None:
    n = 20
    m = model_from_mapping(
        {
            "id": "t",
            "root": "P",
            "inputs": [f"x{i}" for i in range(n)],
            "nodes": [
                {
                    "id": "P",
                    "aggregate": {"method": "mean", "children": [f"x{i}" for i in range(n)]},
                }
            ],
        }
    )
    rng = np.random.default_rng(2)
    data = {f"x{i}": rng.uniform(0, 10, 4) for i in range(n)}
    data["x3"][0] = NAN
    r = evaluate(m, data)
    split = split_node(m, m.node("P"), r, 0)
    assert split.base is not None
    assert split.contributions["x3"] == 0.0
    assert split.base + sum(split.contributions.values()) == pytest.approx(r["P"][0])
    mean_x0 = float(np.mean(data["x0"]))
    assert split.contributions["x0"] == pytest.approx((data["x0"][0] - mean_x0) / (n - 1))
