"""Explain a score: each node's value, coverage and contribution to its parent, per region.

Contributions split a parent's value (as reported, after any rounding) among its children so that
they add up to it:
exactly for the arithmetic mean and sum (`w·x / Σw`); for the geometric operators by each child's
share of the weighted log-terms (`w·ln u`), which is exact in log space; all to the largest child
for max/min. Expression nodes pass their value to no child (their formulas are arbitrary).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tocsin.core.risk.evaluate import RiskResult
from tocsin.core.risk.model import Method, Node, RiskModel

FloatArray = NDArray[np.float64]


def contributions(node: Node, result: RiskResult) -> dict[str, FloatArray]:
    """Per child of an aggregate node: its contribution to the node's value, per region."""
    agg = node.aggregate
    if agg is None:
        return {}
    with np.errstate(all="ignore"):
        vals = np.vstack([result.values[c.id] for c in agg.children])
        w = np.array([c.weight for c in agg.children])[:, None] * ~np.isnan(vals)
        x = np.nan_to_num(vals)
        parent = np.nan_to_num(result.values[node.id])
        if agg.method in (Method.MEAN, Method.SUM):
            total = w.sum(axis=0)
            share = w * x if agg.method is Method.SUM else w * x / np.where(total > 0, total, 1)
            return {c.id: share[j] for j, c in enumerate(agg.children)}
        if agg.method in (Method.MAX, Method.MIN):
            pick = np.where(w > 0, x, -np.inf if agg.method is Method.MAX else np.inf)
            best = pick.argmax(axis=0) if agg.method is Method.MAX else pick.argmin(axis=0)
            return {c.id: np.where(best == j, parent, 0.0) for j, c in enumerate(agg.children)}
        if agg.method is Method.INFORM_GEOMETRIC:
            u = (agg.scale - x) / agg.scale * (agg.scale - agg.offset) + agg.offset
            terms = w * -np.log(u / agg.scale)
        else:  # geometric mean and product: shares of w·ln x
            terms = w * np.log(np.where(x > 0, x, np.nan))
        terms = np.nan_to_num(terms)
        total = terms.sum(axis=0)
        even = w / np.where(w.sum(axis=0) > 0, w.sum(axis=0), 1)
        share = np.where(total != 0, terms / np.where(total != 0, total, 1), even)
        return {c.id: share[j] * parent for j, c in enumerate(agg.children)}


@dataclass(frozen=True, slots=True)
class NodeExplanation:
    """One node for one region: value, coverage, its parent and its contribution to the parent."""

    node: str
    name: str
    depth: int
    value: float
    coverage: float
    parent: str | None
    contribution: float | None


def explain_region(model: RiskModel, result: RiskResult, row: int) -> list[NodeExplanation]:
    """The tree under the root for one region (row), depth first, with contributions."""
    nodes = {n.id: n for n in model.nodes}
    contrib: dict[tuple[str, str], float] = {}
    out: list[NodeExplanation] = []

    def visit(node_id: str, parent: str | None, depth: int) -> None:
        node = nodes.get(node_id)
        share = contrib.get((parent, node_id)) if parent is not None else None
        out.append(
            NodeExplanation(
                node=node_id,
                name=node.name if node is not None else node_id,
                depth=depth,
                value=float(result.values[node_id][row]),
                coverage=float(result.coverage[node_id][row]),
                parent=parent,
                contribution=share,
            )
        )
        if node is None:
            return
        if node.aggregate is not None:
            for child, arr in contributions(node, result).items():
                contrib[(node_id, child)] = float(arr[row])
            kids = [c.id for c in node.aggregate.children]
        else:
            kids = list(node.expr.names) if node.expr is not None else []
        for kid in kids:
            visit(kid, node_id, depth + 1)

    visit(model.root, None, 0)
    return out
