"""The model language: booleans that count, counting and publication rules, directions, defaults,
parameters from a table, and error messages that say what to do."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tocsin.adapters.risk_model_yaml import load_model, model_from_mapping, parse_model
from tocsin.core.errors import InvalidConfig
from tocsin.core.risk.evaluate import evaluate
from tocsin.core.risk.expressions import ExpressionError, compile_expression, evaluate_expression

NAN = math.nan


def arr(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def run(source: str, **columns: np.ndarray) -> list[float]:
    n = len(next(iter(columns.values())))
    values: list[float] = evaluate_expression(compile_expression(source), columns, n).tolist()
    return values


# ---------------------------------------------------------------- booleans count


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("present(a) + present(b)", [2.0, 1.0, 0.0]),
        ("missing(a) + missing(b)", [0.0, 1.0, 2.0]),
        ("(a > 0) + (b > 0)", [2.0, 1.0, 0.0]),
        ("(a > 0) * 10", [10.0, 0.0, 0.0]),
        ("-(a > 0)", [-1.0, -0.0, -0.0]),
        ("sum(present(a), present(b), 1)", [3.0, 2.0, 1.0]),
        ("(present(a) and present(b)) + (present(a) or present(b))", [2.0, 1.0, 0.0]),
        ("not a", [0.0, 1.0, 1.0]),  # a missing value is false
        ("where(a, 1, 2)", [1.0, 2.0, 2.0]),
    ],
)
def test_booleans_are_numbers_that_count(source: str, expected: list[float]) -> None:
    assert run(source, a=arr(1, NAN, NAN), b=arr(2, 3, NAN)) == expected


def test_a_publication_rule_built_on_summed_tests_keeps_values() -> None:
    """The silent wrong result of issue 20: present(a) + present(b) was 1 (OR), and a rule
    "at least 2 present" blanked every value."""
    m = parse_model(
        """
id: t
root: R
inputs: [a, b]
nodes:
  - {id: R, aggregate: {method: mean, children: [a, b]},
     publish: "present({a}) + present({b}) >= 2"}
"""
    )
    r = evaluate(m, {"a": arr(1, 2, NAN), "b": arr(3, NAN, 4)})
    assert r["R"][0] == 2.0
    assert math.isnan(r["R"][1])
    assert math.isnan(r["R"][2])


# ---------------------------------------------------------------- counting over a subtree

COUNTING = """
id: t
root: R
inputs: [a, b, c, d]
nodes:
  - {id: A, aggregate: {method: mean, children: [a, b]}}
  - {id: B, expr: "{c} / {d}"}
  - {id: R, aggregate: {method: mean, children: [A, B]},
     publish: "count_present(R) >= 3"}
  - {id: N, expr: "count_present(R)"}
  - {id: M, expr: "count_missing(A, B)"}
  - {id: S, expr: "share_present(R)"}
  - {id: D, expr: "count_present(d)"}
"""


def test_counting_present_and_missing_inputs_under_nodes() -> None:
    m = parse_model(COUNTING)
    assert m.inputs_under(["R"]) == ("a", "b", "c", "d")
    r = evaluate(
        m,
        {
            "a": arr(1, 1, NAN, NAN),
            "b": arr(1, NAN, NAN, NAN),
            "c": arr(1, 1, 1, NAN),
            "d": arr(1, 1, 1, NAN),
        },
    )
    assert r["N"].tolist() == [4, 3, 2, 0]
    assert r["M"].tolist() == [0, 1, 2, 4]
    assert r["S"].tolist() == [1.0, 0.75, 0.5, 0.0]
    assert r["D"].tolist() == [1, 1, 1, 0]
    # published only with at least 3 of the 4 inputs (it reads its own subtree: no cycle)
    assert r["R"][:2].tolist() == [1.0, 1.0]
    assert math.isnan(r["R"][2])  # B alone would give 1.0: withheld
    assert r.coverage["R"][2] == 0.5  # the coverage still says what was there


def test_counting_needs_ids_and_known_ones() -> None:
    with pytest.raises(ExpressionError, match="takes one or more ids"):
        compile_expression("count_present({a} + 1)")
    with pytest.raises(InvalidConfig, match="counting over unknown id 'Z'"):
        parse_model("id: t\nroot: R\ninputs: [a]\nnodes:\n  - {id: R, expr: 'count_present(Z)'}\n")


# ---------------------------------------------------------------- directions and defaults


def test_neutral_directions_mean_what_they_say() -> None:
    m = parse_model(
        """
id: t
root: R
inputs: [a]
defaults: {normalise: {range: [0, 1], lower: 0, upper: 100}}
nodes:
  - {id: UP, expr: "{a}", normalise: {direction: ascending}}
  - {id: DOWN, expr: "{a}", normalise: {direction: descending}}
  - {id: WORSE, expr: "{a}", normalise: {direction: higher_is_worse}}
  - {id: BETTER, expr: "{a}", normalise: {direction: higher_is_better}}
  - {id: R, aggregate: {method: mean, children: [UP, DOWN]}}
"""
    )
    r = evaluate(m, {"a": arr(0, 25, 100)})
    assert r["UP"].tolist() == [0, 0.25, 1] == r["WORSE"].tolist()
    assert r["DOWN"].tolist() == [1, 0.75, 0] == r["BETTER"].tolist()


def test_defaults_fill_what_nodes_do_not_say() -> None:
    m = parse_model(
        """
id: t
root: R
inputs: [a, b]
defaults:
  round: 2
  normalise: {range: [0, 1], direction: descending, clip: false}
  aggregate: {missing: propagate}
nodes:
  - {id: A, expr: "{a}", normalise: {lower: 0, upper: 3}}
  - {id: B, expr: "{b}", normalise: {lower: 0, upper: 3, direction: ascending}, round: null}
  - {id: R, aggregate: {method: mean, children: [A, B]}}
"""
    )
    a, b, r_node = m.node("A"), m.node("B"), m.node("R")
    assert a.normalise is not None
    assert b.normalise is not None
    assert r_node.aggregate is not None
    assert (a.normalise.out_upper, a.normalise.higher_is_worse, a.normalise.clip) == (
        1,
        False,
        False,
    )
    assert (b.normalise.higher_is_worse, b.round, a.round) == (True, None, 2)
    assert r_node.aggregate.missing.value == "propagate"
    r = evaluate(m, {"a": arr(1, 4), "b": arr(1, NAN)})
    assert r["A"].tolist() == [0.67, -0.33]  # descending, not clipped, rounded to 2
    assert r["B"][0] == pytest.approx(1 / 3, abs=1e-15)  # round: null
    assert math.isnan(r["R"][1])  # propagate: B missing


# ---------------------------------------------------------------- parameters from a table

PARAMETERS = """
id: t
root: R
inputs: [x1, x2, x3]
defaults: {normalise: {range: [0, 1]}}
parameters:
  - file: bounds.csv
    key: indicator
    fields: {normalise.lower: min, normalise.upper: max, normalise.direction: direction,
             normalise.scale: log, name: label}
    values:
      normalise.direction: {1: ascending, -1: descending}
      normalise.scale: {"TRUE": log10, "FALSE": linear}
nodes:
  - {id: I1, expr: "{x1}"}
  - {id: I2, expr: "{x2}"}
  - {id: I3, expr: "{x3}"}
  - {id: R, aggregate: {method: mean, children: [I1, I2, I3]}}
"""

BOUNDS = """indicator,label,min,max,direction,log
I1,"Yield change, projected",0,10,1,FALSE
I2,GDP per capita,2,5,-1,TRUE
I3,Dam capacity,0,100,-1,FALSE
"""


def _write(tmp_path: Path, model: str, table: str) -> Path:
    (tmp_path / "bounds.csv").write_text(table, encoding="utf-8")
    path = tmp_path / "model.yaml"
    path.write_text(model, encoding="utf-8")
    return path


def test_node_parameters_come_from_a_table(tmp_path: Path) -> None:
    m = load_model(_write(tmp_path, PARAMETERS, BOUNDS))
    i2 = m.node("I2")
    assert i2.name == "GDP per capita"
    assert i2.normalise is not None
    assert (i2.normalise.lower, i2.normalise.upper, i2.normalise.scale.value) == (2, 5, "log10")
    assert i2.normalise.higher_is_worse is False
    assert m.node("I1").name == "Yield change, projected"
    r = evaluate(m, {"x1": arr(5.0), "x2": arr(1000.0), "x3": arr(25.0)})
    assert r["I1"][0] == 0.5
    assert r["I2"][0] == pytest.approx(2 / 3)  # log10(1000) = 3 of [2, 5], descending
    assert r["I3"][0] == 0.75


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (BOUNDS.replace("0,10,1", "0,ten,1"), "line 2, column 'max'"),
        (BOUNDS + "I9,Unknown,0,1,1,FALSE\n", "line 5: no node 'I9' in the model"),
        (BOUNDS.replace("indicator,", "code,"), "no column 'indicator'"),
        (BOUNDS + "I1,Again,0,1,1,FALSE\n", "second row for 'I1'"),
    ],
)
def test_parameter_table_problems_name_file_line_and_column(
    tmp_path: Path, table: str, message: str
) -> None:
    with pytest.raises(InvalidConfig) as err:
        load_model(_write(tmp_path, PARAMETERS, table))
    assert message in str(err.value)
    assert "bounds.csv" in str(err.value)


def test_a_value_given_by_the_node_and_the_table_is_refused(tmp_path: Path) -> None:
    model = PARAMETERS.replace('{id: I3, expr: "{x3}"}', '{id: I3, expr: "{x3}", name: Dams}')
    with pytest.raises(InvalidConfig, match="not from both"):
        load_model(_write(tmp_path, model, BOUNDS))


def test_unmatched_rows_may_be_ignored(tmp_path: Path) -> None:
    model = PARAMETERS.replace(
        "    key: indicator\n", "    key: indicator\n    unmatched: ignore\n"
    )
    m = load_model(_write(tmp_path, model, BOUNDS + "I9,Unknown,0,1,1,FALSE\n"))
    assert m.node("I3").name == "Dam capacity"


# ---------------------------------------------------------------- messages that help


def test_unknown_function_is_named_with_the_allowed_ones() -> None:
    with pytest.raises(ExpressionError) as err:
        compile_expression("pow({a}, 2)")
    text = str(err.value)
    assert "unknown function 'pow'" in text
    assert "allowed:" in text
    for name in ("log10", "sqrt", "where", "count_present", "share_present"):
        assert name in text


def test_an_unquoted_name_with_a_comma_gets_a_hint() -> None:
    text = (
        "id: t\nroot: R\ninputs: [a]\nnodes:\n  - {id: R, name: Population, total, expr: '{a}'}\n"
    )
    with pytest.raises(InvalidConfig) as err:
        parse_model(text)
    message = str(err.value)
    assert "nodes[0] (R).total" in message
    assert "unknown key 'total'" in message
    assert "quote the text" in message


def test_reserved_names_and_a_node_called_x() -> None:
    with pytest.raises(InvalidConfig, match="'value' is a reserved name"):
        model_from_mapping(
            {"id": "t", "root": "value", "inputs": ["a"], "nodes": [{"id": "value", "expr": "{a}"}]}
        )
    m = model_from_mapping(
        {
            "id": "t",
            "root": "R",
            "inputs": ["a"],
            "nodes": [
                {"id": "x", "expr": "{a} * 2"},
                {"id": "R", "aggregate": {"method": "sum", "children": ["x", "a"]}},
            ],
        }
    )
    assert m.node_ids == ("x", "R")  # x is read (it was once dropped as a local name)
    assert evaluate(m, {"a": arr(1.0)})["R"].tolist() == [3.0]


def test_weights_of_children_from_a_table(tmp_path: Path) -> None:
    model = PARAMETERS.replace("    unmatched: error\n", "").replace(
        "parameters:\n",
        "parameters:\n  - {file: weights.csv, key: child, fields: {weight: w}}\n",
    )
    (tmp_path / "weights.csv").write_text("child,w\nI1,2\nI2,1\nI3,0.5\n", encoding="utf-8")
    m = load_model(_write(tmp_path, model, BOUNDS))
    agg = m.node("R").aggregate
    assert agg is not None
    assert [c.weight for c in agg.children] == [2.0, 1.0, 0.5]
    r = evaluate(m, {"x1": arr(5.0), "x2": arr(1000.0), "x3": arr(25.0)})
    assert r["R"][0] == pytest.approx((2 * 0.5 + 2 / 3 + 0.5 * 0.75) / 3.5)
    (tmp_path / "weights.csv").write_text("child,w\nI1,heavy\n", encoding="utf-8")
    with pytest.raises(InvalidConfig, match=r"weights.csv line 2, column 'w'"):
        load_model(tmp_path / "model.yaml")
    (tmp_path / "weights.csv").write_text("child,w\nx1,2\n", encoding="utf-8")
    with pytest.raises(InvalidConfig, match="no aggregate reads 'x1'"):
        load_model(tmp_path / "model.yaml")
