"""Evaluate a model over all regions at once: inputs (regions × indicators) → every node's value.

`evaluate` walks the nodes in topological order; each node is a handful of array operations
(compiled kernels for normalisation, aggregation and rounding), so the cost is linear in
regions × nodes. Alongside each value it carries a *coverage* figure in [0, 1]: the weighted
share of the underlying raw indicators that were present (1 = nothing missing), which is the
reliability/missingness figure reported at every level.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from tocsin.core.risk import kernels
from tocsin.core.risk.expressions import evaluate_expression
from tocsin.core.risk.model import (
    METHOD_CODES,
    MissingPolicy,
    Node,
    Normalisation,
    NormaliseMethod,
    RiskModel,
    Scale,
)

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


class AdjustOp(StrEnum):
    """How a scenario changes a value."""

    ADD = "add"
    MULTIPLY = "multiply"
    SET = "set"


@dataclass(frozen=True, slots=True)
class NodeAdjustment:
    """Change a node's computed value where `mask` holds (all regions if None), then propagate.

    `clip` (lower, upper) bounds the adjusted value, e.g. (0, 10) for a score.
    """

    node: str
    op: AdjustOp
    amount: float
    mask: BoolArray | None = None
    clip: tuple[float, float] | None = None


@dataclass(frozen=True)
class RiskResult:
    """Every node's value and coverage per region (arrays of length `n`), inputs included."""

    n: int
    values: Mapping[str, FloatArray]
    coverage: Mapping[str, FloatArray]

    def __getitem__(self, node_id: str) -> FloatArray:
        """The values of one node (or input)."""
        return self.values[node_id]


def apply_adjustment(values: FloatArray, adj: NodeAdjustment) -> FloatArray:
    """Apply one adjustment to an array of values (a new array)."""
    if adj.op is AdjustOp.ADD:
        changed = values + adj.amount
    elif adj.op is AdjustOp.MULTIPLY:
        changed = values * adj.amount
    else:
        changed = np.full_like(values, adj.amount)
    if adj.clip is not None:
        changed = np.clip(changed, adj.clip[0], adj.clip[1])
    if adj.mask is None:
        return changed
    return np.where(adj.mask, changed, values)


def evaluate(
    model: RiskModel,
    inputs: Mapping[str, FloatArray],
    *,
    adjustments: Sequence[NodeAdjustment] = (),
    keep: Sequence[str] | None = None,
    block: int = 1 << 16,
    workers: int = 1,
) -> RiskResult:
    """Compute every node for every region; `inputs` maps input id → float array (NaN = missing).

    Regions are processed in blocks of `block` rows (so intermediate arrays stay in cache),
    by `workers` threads (the compiled kernels release the GIL); `keep` limits the ids whose
    values and coverage are returned (default: every input and node). Models with data-driven
    normalisation (percentile rank, z-score, min–max over the regions) are evaluated in one block.
    """
    n = _length(model, inputs)
    ids = list(keep) if keep is not None else [*model.input_ids, *model.node_ids]
    unknown = [i for i in ids if i not in model.input_ids and i not in model.node_ids]
    if unknown:
        raise KeyError(f"unknown ids to keep: {', '.join(unknown)}")
    if n <= block or _is_data_driven(model):
        values, coverage = _evaluate_block(model, inputs, adjustments, n)
        return RiskResult(
            n=n, values={i: values[i] for i in ids}, coverage={i: coverage[i] for i in ids}
        )
    node_ids = set(model.node_ids)
    out_values: dict[str, FloatArray] = {}
    out_coverage: dict[str, FloatArray] = {}
    for i in ids:
        if i in node_ids:
            out_values[i] = np.empty(n)
            out_coverage[i] = np.empty(n)
        else:  # an input: returned as given (adjusted if a scenario changes it)
            arr = np.asarray(inputs[i], dtype=np.float64) if i in inputs else np.full(n, np.nan)
            for adj in adjustments:
                if adj.node == i:
                    arr = apply_adjustment(arr, adj)
            out_values[i] = arr
            out_coverage[i] = kernels.presence(np.ascontiguousarray(arr))
    kept_nodes = [i for i in ids if i in node_ids]
    plan = _plan(model, set(ids))

    def run(start: int) -> None:
        stop = min(start + block, n)
        part = {k: np.asarray(v)[start:stop] for k, v in inputs.items()}
        adjs = [
            replace(a, mask=None if a.mask is None else a.mask[start:stop]) for a in adjustments
        ]
        values, coverage = _evaluate_block(model, part, adjs, stop - start, plan)
        for i in kept_nodes:
            out_values[i][start:stop] = values[i]
            out_coverage[i][start:stop] = coverage[i]

    starts = range(0, n, block)
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, starts))
    else:
        for start in starts:
            run(start)
    return RiskResult(n=n, values=out_values, coverage=out_coverage)


def _is_data_driven(model: RiskModel) -> bool:
    return any(
        n.normalise is not None and n.normalise.method is not NormaliseMethod.BOUNDS
        for n in model.nodes
    )


@dataclass(frozen=True)
class _Plan:
    """Which nodes to evaluate for the ids kept, and what can be dropped after each node."""

    nodes: tuple[Node, ...]
    release: Mapping[str, tuple[str, ...]]


def _plan(model: RiskModel, keep: set[str]) -> _Plan:
    by_id = {n.id: n for n in model.nodes}
    needed: set[str] = set()
    stack = [k for k in keep if k in by_id]
    while stack:  # everything the kept nodes read, directly or not
        current = stack.pop()
        if current in needed:
            continue
        needed.add(current)
        stack.extend(r for r in by_id[current].references() if r in by_id)
    nodes = tuple(n for n in model.nodes if n.id in needed)
    last: dict[str, str] = {}
    for node in nodes:
        for ref in node.references():
            last[ref] = node.id
    release: dict[str, list[str]] = {}
    for ref, at in last.items():
        if ref not in keep and ref in by_id:
            release.setdefault(at, []).append(ref)
    return _Plan(nodes, {k: tuple(v) for k, v in release.items()})


def _evaluate_block(
    model: RiskModel,
    inputs: Mapping[str, FloatArray],
    adjustments: Sequence[NodeAdjustment],
    n: int,
    plan: _Plan | None = None,
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    values: dict[str, FloatArray] = {}
    coverage: dict[str, FloatArray] = {}
    ones = np.ones(n)
    work = np.empty((2, n))  # scratch space for the aggregation kernels, reused by every node
    for spec in model.inputs:
        arr = np.asarray(inputs[spec.id], dtype=np.float64) if spec.id in inputs else None
        if arr is None:
            arr = np.full(n, np.nan)
        values[spec.id] = arr
        coverage[spec.id] = kernels.presence(np.ascontiguousarray(arr))
    by_node: dict[str, list[NodeAdjustment]] = {}
    for adj in adjustments:
        if adj.node in values:  # an input: adjust before anything reads it
            values[adj.node] = apply_adjustment(values[adj.node], adj)
        else:
            by_node.setdefault(adj.node, []).append(adj)
    nodes = model.nodes if plan is None else plan.nodes
    release = {} if plan is None else plan.release
    with np.errstate(all="ignore"):
        for node in nodes:
            value, cov = _evaluate_node(node, values, coverage, n, ones, work)
            for adj in by_node.get(node.id, ()):
                value = apply_adjustment(value, adj)
            values[node.id] = value
            coverage[node.id] = cov
            for done in release.get(node.id, ()):  # free memory as soon as nothing reads it
                del values[done], coverage[done]
    return values, coverage


def _length(model: RiskModel, inputs: Mapping[str, FloatArray]) -> int:
    lengths = {len(np.asarray(inputs[i])) for i in model.input_ids if i in inputs}
    if len(lengths) > 1:
        raise ValueError(f"input arrays differ in length: {sorted(lengths)}")
    if not lengths:
        raise ValueError("none of the model's inputs were given")
    return lengths.pop()


def _evaluate_node(
    node: Node,
    values: Mapping[str, FloatArray],
    coverage: Mapping[str, FloatArray],
    n: int,
    ones: FloatArray,
    work: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    if node.aggregate is not None:
        agg = node.aggregate
        # round inside the aggregation pass when nothing else comes between
        rounded = node.round is not None and not node.cases and node.normalise is None
        kids = []
        for child in agg.children:
            v = values[child.id]
            if child.if_missing is not None:
                v = np.where(np.isnan(v), child.if_missing, v)
            kids.append(np.ascontiguousarray(v, dtype=np.float64))
        raw, cov = kernels.aggregate(
            tuple(kids),
            tuple(np.ascontiguousarray(coverage[c.id]) for c in agg.children),
            np.array([c.weight for c in agg.children], dtype=np.float64),
            METHOD_CODES[agg.method],
            agg.missing is MissingPolicy.PROPAGATE,
            agg.min_present,
            agg.scale,
            agg.offset,
            node.round if rounded and node.round is not None else -1,
            work,
        )
    else:
        expr = node.expr
        if expr is None:  # pragma: no cover - build_model guarantees one source
            raise ValueError(f"node {node.id!r} has no source")
        raw = evaluate_expression(expr, values, n)
        refs = expr.names
        if len(refs) == 1:
            cov = coverage[refs[0]]
        elif refs:
            cov = coverage[refs[0]] + coverage[refs[1]]
            for r in refs[2:]:
                cov += coverage[r]
            cov /= len(refs)
        else:
            cov = ones
        rounded = False
    if node.normalise is not None:
        fuse = node.round is not None and not node.cases
        value = normalise(raw, node.normalise, decimals=node.round if fuse else None)
        rounded = rounded or fuse
    else:
        value = raw
    if node.cases:
        value = _apply_cases(node, raw, value, values, n)
    if node.round is not None and not rounded:
        value = kernels.round_half_up(np.ascontiguousarray(value), node.round)
    if node.floor is not None or node.cap is not None:
        value = np.clip(value, node.floor, node.cap)
    return value, cov


def _apply_cases(
    node: Node, raw: FloatArray, value: FloatArray, values: Mapping[str, FloatArray], n: int
) -> FloatArray:
    env = {**values, "raw": raw, "value": value}
    decided = np.zeros(n, dtype=bool)
    out = value.copy()
    for case in node.cases:
        hit = evaluate_expression(case.when, env, n).astype(bool) & ~decided
        if hit.any():
            out = np.where(hit, evaluate_expression(case.value, env, n), out)
            decided |= hit
    return out


def normalise(x: FloatArray, norm: Normalisation, *, decimals: int | None = None) -> FloatArray:
    """Normalise raw values to the score scale (see `Normalisation`), rounding if `decimals`."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    if norm.method is NormaliseMethod.BOUNDS and norm.formula is None:
        if norm.scale is Scale.LOG10:  # numpy's log10 is vectorised; 0 → −inf, negative → NaN
            with np.errstate(all="ignore"):
                x = np.log10(x)
        return kernels.normalise_bounds(
            x,
            norm.lower,
            norm.upper,
            norm.higher_is_worse,
            norm.clip,
            False,
            norm.out_lower,
            norm.out_upper,
            -1 if decimals is None else decimals,
        )
    out = _normalise_unrounded(x, norm)
    return out if decimals is None else kernels.round_half_up(out, decimals)


def _normalise_unrounded(x: FloatArray, norm: Normalisation) -> FloatArray:
    if norm.method is NormaliseMethod.BOUNDS:
        return _normalise_formula(x, norm)
    if norm.method is NormaliseMethod.PERCENTILE:
        return _rescale(percentile_rank(x), norm)
    ok = ~np.isnan(x)
    if not ok.any():
        return x.copy()
    if norm.method is NormaliseMethod.ZSCORE:
        sd = float(np.std(x[ok]))
        z = (x - float(np.mean(x[ok]))) / (sd if sd > 0 else 1.0)
        return z if norm.higher_is_worse else -z
    lo, hi = float(np.min(x[ok])), float(np.max(x[ok]))
    return kernels.normalise_bounds(
        x,
        lo,
        hi if hi > lo else lo + 1.0,
        norm.higher_is_worse,
        True,
        False,
        norm.out_lower,
        norm.out_upper,
        -1,
    )


def _rescale(unit: FloatArray, norm: Normalisation) -> FloatArray:
    share = unit if norm.higher_is_worse else 1.0 - unit
    return norm.out_lower + share * (norm.out_upper - norm.out_lower)


def _normalise_formula(x: FloatArray, norm: Normalisation) -> FloatArray:
    formula = norm.formula
    if formula is None:  # pragma: no cover - only called with a formula
        raise ValueError("no formula")
    t = np.log10(x) if norm.scale is Scale.LOG10 else x
    inside = evaluate_expression(formula, {"x": t}, len(x))
    top = norm.out_upper if norm.higher_is_worse else norm.out_lower
    bottom = norm.out_lower if norm.higher_is_worse else norm.out_upper
    if norm.clip:
        inside = np.where(t > norm.upper, top, np.where(t < norm.lower, bottom, inside))
    return np.where(np.isnan(t), np.nan, inside)


def percentile_rank(x: FloatArray) -> FloatArray:
    """Share of the other regions with a strictly lower value: (count below)/(n − 1), in [0, 1].

    This is Excel's PERCENTRANK.INC as used by the CDC/ATSDR Social Vulnerability Index; missing
    values stay missing and are not counted.
    """
    ok = ~np.isnan(x)
    valid = np.sort(x[ok])
    out = np.full(len(x), np.nan)
    m = len(valid)
    if m == 1:
        out[ok] = 0.0
    elif m > 1:
        out[ok] = np.searchsorted(valid, x[ok], side="left") / (m - 1)
    return out
