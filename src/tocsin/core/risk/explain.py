"""Explain a score: each node's value and coverage, and how much each thing it reads contributed.

**Method: exact Shapley values over a node's inputs, against a reference point.** A node reads a
few ids (an aggregate's children, or the ids in its expression and cases). Its value is a
function `f` of them: the node's own pipeline, operator, normalisation, cases, rounding and
publication rule included, run by the engine itself. For a region with values `x` and a reference
point `r`, the contribution of the child `j` is its Shapley value (Shapley 1953) in the game
`v(S) = f(x_S, r_rest)`, the node's value when the children in `S` take the region's values and
the others the reference values ("baseline Shapley", Sundararajan & Najmi 2020):

    φ_j = Σ_{S ⊆ N∖{j}} |S|!·(k − |S| − 1)!/k! · (v(S ∪ {j}) − v(S))

computed exactly over all 2^k coalitions (k ≤ `MAX_PLAYERS`; indices have a handful of children;
a mean or sum of more children is a linear game, split exactly in closed form).
The contributions add up: `f(r) + Σ φ_j = f(x)`, the value as reported. `f(r)` is the node's
*base*, its value at the reference point. Every operator gets the same treatment, so a geometric
mean near 1 or a product is split as sensibly as a mean: the parts are bounded by what each child
can change, never shares of logarithms. For a weighted mean against the zero reference the
contributions are the familiar `w·x/Σw`.

References: `average` (default: each child at its mean over the regions of the same period, so
the explanation says why a region differs from a typical one), `zero` (each child at 0, the
bottom of a risk scale: the parts of a mean, sum, INFORM's operator or a maximum share out the
whole value; a geometric mean or product has no meaningful split against 0 and shares equally)
or another region's row (why this region differs from that one).

A child missing in the region is missing at the reference too and contributes 0; children of a
node that is missing or withheld contribute nothing. Data-driven normalisations (percentile rank,
z-score, min–max) are held at the distribution of the regions scored while one region's values
vary.

Shapley, L. S. (1953), "A value for n-person games", Contributions to the Theory of Games II,
Annals of Mathematics Studies 28, 307–317. Sundararajan, M. & Najmi, A. (2020), "The many Shapley
values for model explanation", Proc. ICML, PMLR 119.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tocsin.core.risk.evaluate import RiskResult, period_groups
from tocsin.core.risk.model import Method, Node, RiskModel
from tocsin.core.risk.nodes import block_for, evaluate_node, raw_source
from tocsin.core.risk.normalisation import is_data_driven

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

MAX_PLAYERS = 16
"""At most this many ids per node are attributed exactly (2^16 coalitions)."""


@dataclass(frozen=True, slots=True)
class Split:
    """How one node's value splits among what it reads: base + Σ contributions = value."""

    value: float
    base: float | None
    contributions: Mapping[str, float]
    note: str = ""


@dataclass(frozen=True, slots=True)
class NodeExplanation:
    """One node (or input) for one region: value, coverage, its contribution to its parent,
    and the base of its own split (its value at the reference point), as shown in `explain`."""

    node: str
    name: str
    depth: int
    value: float
    coverage: float
    parent: str | None
    contribution: float | None
    base: float | None = None
    is_input: bool = False
    decimals: int | None = None
    note: str = ""


def reference_values(
    result: RiskResult,
    ids: list[str],
    *,
    row: int,
    reference: str,
    codes: tuple[str, ...] = (),
) -> dict[str, float]:
    """Each id's value at the reference point for `row` (see the module docstring)."""
    if reference == "zero":
        return dict.fromkeys(ids, 0.0)
    if reference != "average":
        if reference not in codes:
            raise KeyError(f"no region {reference!r} to compare with")
        same = [i for i, c in enumerate(codes) if c == reference]
        if result.periods:
            same = [i for i in same if result.periods[i] == result.periods[row]] or same
        return {c: float(result.values[c][same[0]]) for c in ids}
    rows = _period_rows(result, row)
    out = {}
    for c in ids:
        part = result.values[c][rows]
        part = part[~np.isnan(part)]
        out[c] = float(part.mean()) if len(part) else math.nan
    return out


def _period_rows(result: RiskResult, row: int) -> IntArray:
    if not result.periods:
        return np.arange(result.n)
    for rows in period_groups(result.periods):
        if row in rows:
            return rows
    return np.arange(result.n)  # pragma: no cover - every row has a period


def shapley(values: FloatArray, k: int) -> FloatArray:
    """Exact Shapley values from a game given on all 2^k coalitions (bit j = player j)."""
    masks = np.arange(1 << k)
    sizes = np.array([int(m).bit_count() for m in masks])
    weight = np.array(
        [math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)]
    )
    out = np.empty(k)
    for j in range(k):
        without = masks[(masks >> j) & 1 == 0]
        out[j] = float(
            np.sum(weight[sizes[without]] * (values[without | (1 << j)] - values[without]))
        )
    return out


def split_node(
    model: RiskModel,
    node: Node,
    result: RiskResult,
    row: int,
    *,
    reference: str = "average",
    codes: tuple[str, ...] = (),
) -> Split:
    """The Shapley split of one node's value for one region (see the module docstring)."""
    value = float(result.values[node.id][row])
    players = list(node.references())
    if math.isnan(value):
        return Split(value, None, {}, "missing or withheld: nothing to attribute")
    actual = {p: float(result.values[p][row]) for p in players}
    ref = reference_values(result, players, row=row, reference=reference, codes=codes)
    ref = {p: (math.nan if math.isnan(actual[p]) else ref[p]) for p in players}
    if len(players) > MAX_PLAYERS:
        return _linear_split(node, value, actual, ref)
    k = len(players)
    masks = np.arange(1 << k)
    env = {p: np.where((masks >> j) & 1 == 1, actual[p], ref[p]) for j, p in enumerate(players)}
    game = _game(model, node, result=result, row=row, env=env)
    if np.isnan(game).any():
        return Split(value, None, {}, "some combinations are missing: not attributed")
    phi = shapley(game, k)
    return Split(value, float(game[0]), {p: float(phi[j]) for j, p in enumerate(players)})


def _linear_split(
    node: Node, value: float, actual: Mapping[str, float], ref: Mapping[str, float]
) -> Split:
    """A mean or sum of more than `MAX_PLAYERS` children: the game is linear, so each Shapley
    value is w·(x − r)/Σw (sum: w·(x − r)), over the children present; the base takes up what
    rounding, a floor or a cap changed. Other nodes that large are not attributed."""
    agg = node.aggregate
    linear = (Method.MEAN, Method.SUM)
    if agg is None or agg.method not in linear or node.normalise or node.cases or node.publish:
        return Split(value, None, {}, f"reads {len(actual)} ids: more than {MAX_PLAYERS}")
    present = [c for c in agg.children if not math.isnan(actual[c.id])]
    total = sum(c.weight for c in present) if agg.method is Method.MEAN else 1.0
    parts = {c.id: 0.0 for c in agg.children}
    for c in present:
        parts[c.id] = c.weight * (actual[c.id] - ref[c.id]) / (total or 1.0)
    note = "linear split; the base includes rounding" if node.round is not None else ""
    return Split(value, value - sum(parts.values()), parts, note)


def _game(
    model: RiskModel,
    node: Node,
    *,
    result: RiskResult,
    row: int,
    env: Mapping[str, FloatArray],
) -> FloatArray:
    """The node's value for every coalition (one row each), by the engine itself."""
    fixed = {}
    if is_data_driven(node.normalise):  # hold the period's distribution fixed
        rows = _period_rows(result, row)
        period_env = {p: result.values[p][rows] for p in node.references()}
        fixed[node.id] = raw_source(node, block_for(model, period_env, node=node))
    blk = block_for(model, env, node=node, reference_raw=fixed)
    n = blk.n
    for group in node.count_groups():  # counts are the region's own, in every coalition
        leaves = model.inputs_under(group)
        present = sum(float(result.coverage[leaf][row] > 0) for leaf in leaves)
        blk.counted[group] = (np.full(n, present), len(leaves))
    with np.errstate(all="ignore"):
        evaluate_node(node, blk)
    return np.array(blk.values[node.id], dtype=np.float64)


def explain_region(
    model: RiskModel,
    result: RiskResult,
    row: int,
    *,
    reference: str = "average",
    codes: tuple[str, ...] = (),
) -> list[NodeExplanation]:
    """The tree under the root for one region (row), depth first, with Shapley contributions.

    `codes` are the rows' region ids (needed when `reference` names a region).
    """
    nodes = {n.id: n for n in model.nodes}
    inputs = {i.id: i for i in model.inputs}
    out: list[NodeExplanation] = []

    def visit(node_id: str, parent: Split | None, parent_id: str | None, depth: int) -> None:
        node = nodes.get(node_id)
        split = (
            None
            if node is None
            else split_node(model, node, result, row, reference=reference, codes=codes)
        )
        contribution = None if parent is None else parent.contributions.get(node_id)
        note = "" if parent is None or contribution is not None else "parent not attributed"
        out.append(
            NodeExplanation(
                node=node_id,
                name=(node.name if node is not None else inputs[node_id].name) or node_id,
                depth=depth,
                value=float(result.values[node_id][row]),
                coverage=float(result.coverage[node_id][row]),
                parent=parent_id,
                contribution=contribution,
                base=None if split is None else split.base,
                is_input=node is None,
                decimals=None if node is None else node.round,
                note=split.note if split is not None and split.note else note,
            )
        )
        if node is not None and split is not None:
            for kid in node.references():
                visit(kid, split, node_id, depth + 1)

    visit(model.root, None, None, 0)
    return out
