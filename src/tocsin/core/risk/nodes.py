"""One node's value for a block of regions, in the order every node follows (`model`):
source (expression or aggregate) → normalise → cases → round → floor/cap → publish.

A `Block` holds the working state of a block of regions: a 2-D *frame* whose rows hold node
values (and the inputs aggregates read), a frame of coverage alongside, and every id's array.
The kernels come in two identical sets (`Kit`): compiled for large blocks, numpy for small ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tocsin.core.risk import kernels_numpy
from tocsin.core.risk.expressions import Counted, evaluate_condition, evaluate_expression
from tocsin.core.risk.model import (
    METHOD_CODES,
    Aggregation,
    MissingPolicy,
    Node,
    Normalisation,
    NormaliseMethod,
    RiskModel,
)
from tocsin.core.risk.normalisation import by_formula, by_period, transformed

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Kit:
    """A set of kernels: compiled (`kernels`) or numpy (`kernels_numpy`); identical results."""

    aggregate_rows: Callable[..., None]
    normalise_bounds: Callable[..., None]
    round_into: Callable[[FloatArray, int], None]
    presence: Callable[[FloatArray], FloatArray]


@cache
def kit(compiled: bool) -> Kit:
    """The compiled kernels (imported, so numba loaded, only when asked for) or numpy's."""
    module: ModuleType = kernels_numpy
    if compiled:
        from tocsin.core.risk import kernels

        module = kernels
    return Kit(module.aggregate_rows, module.normalise_bounds, module.round_into, module.presence)


@dataclass
class Block:
    """The working state of one block of `n` regions (see the module docstring).

    `period_rows` are the rows of each period (data-driven normalisations rank within a period);
    `reference_raw` holds, per node, a fixed distribution to normalise against (`explain`).
    """

    model: RiskModel
    n: int
    kit: Kit
    frame: FloatArray
    cover: FloatArray
    rows: Mapping[str, int]
    values: dict[str, FloatArray]
    coverage: dict[str, FloatArray] = field(default_factory=dict)
    period_rows: Sequence[IntArray] | None = None
    reference_raw: Mapping[str, FloatArray] = field(default_factory=dict)
    counted: dict[tuple[str, ...], tuple[FloatArray, int]] = field(default_factory=dict)
    arguments: dict[tuple[str, str, int], Any] = field(default_factory=dict)
    """What is worked out once per node: kernel arguments, count groups (shared by the blocks
    of one evaluation)."""
    space: FloatArray | None = None
    """Scratch space of shape (3, n), if given (else allocated)."""
    scratch: FloatArray = field(init=False)
    work: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        space = np.empty((3, self.n)) if self.space is None else self.space
        self.scratch = space[0]
        self.work = space[1:]

    def coverage_of(self, name: str) -> FloatArray:
        """The coverage of an input or an evaluated node."""
        if name not in self.coverage:
            self.coverage[name] = self.kit.presence(np.ascontiguousarray(self.values[name]))
        return self.coverage[name]

    def count_groups(self, node: Node) -> tuple[tuple[str, ...], ...]:
        """The node's counting groups (worked out once)."""
        key = (node.id, "groups", 0)
        if key not in self.arguments:
            self.arguments[key] = node.count_groups()
        groups: tuple[tuple[str, ...], ...] = self.arguments[key]
        return groups

    def counts(self, node: Node) -> Counted:
        """Present-input counts for the node's counting functions."""
        for group in self.count_groups(node):
            if group not in self.counted:
                leaves = self.model.inputs_under(group)
                present = np.zeros(self.n)
                for leaf in leaves:
                    present = present + self.coverage_of(leaf)
                self.counted[group] = (present, len(leaves))
        return self.counted


def evaluate_node(node: Node, blk: Block) -> None:
    """Compute the node's value and coverage: into its frame rows if it has them (aggregates
    read it), else into new arrays (an expression with nothing after it is not even copied)."""
    row = blk.rows.get(node.id)
    out = np.empty(blk.n) if row is None else blk.frame[row]
    out_cov = np.empty(blk.n) if row is None else blk.cover[row]
    counted = blk.counts(node) if blk.count_groups(node) else None
    decimals = -1 if node.round is None else node.round
    # round inside the last kernel when nothing else comes after it
    fuse = node.round is not None and not node.cases
    if node.aggregate is not None:
        raw = out if node.normalise is None else blk.scratch
        _aggregate(
            node, blk, out=raw, out_cov=out_cov, decimals=decimals if fuse and raw is out else -1
        )
        rounded = fuse and raw is out
    else:
        raw, cov = _expression(node, blk, counted=counted)
        if row is None and _plain(node):
            blk.values[node.id], blk.coverage[node.id] = raw, cov
            return
        if row is None:
            out_cov = cov  # shared with what it reads: coverage is never changed in place
        else:
            out_cov[:] = cov
        rounded = False
    if node.normalise is not None:
        _normalise(node, blk, raw=raw, out=out, decimals=decimals if fuse else -1)
        rounded = fuse
    elif raw is not out:
        out[:] = raw
    if node.cases:
        out[:] = _cases(node, blk, raw=raw, value=out, counted=counted)
    if node.round is not None and not rounded:
        blk.kit.round_into(out, node.round)
    if node.floor is not None or node.cap is not None:
        np.clip(out, node.floor, node.cap, out=out)
    if node.publish is not None:
        env = {**blk.values, "raw": raw, "value": out}
        shown = evaluate_condition(node.publish, env, blk.n, counted=counted)
        out[~shown] = math.nan
    blk.values[node.id] = out
    blk.coverage[node.id] = out_cov


def _plain(node: Node) -> bool:
    """Nothing comes after the source: its value is the expression's result as it stands."""
    return (
        node.normalise is None
        and not node.cases
        and node.round is None
        and node.floor is None
        and node.cap is None
        and node.publish is None
    )


def operator_row(agg: Aggregation, decimals: int) -> FloatArray:
    """An aggregate's operator for the kernels: method code, propagate, min_present, scale,
    offset, decimals (< 0: no rounding)."""
    propagate = 1.0 if agg.missing is MissingPolicy.PROPAGATE else 0.0
    code = float(METHOD_CODES[agg.method])
    return np.array([code, propagate, agg.min_present, agg.scale, agg.offset, decimals])


def bounds_row(norm: Normalisation, decimals: int) -> FloatArray:
    """A fixed-bound normalisation for the kernels: lower, upper, higher_is_worse, clip,
    out_lower, out_upper, decimals (< 0: no rounding)."""
    rising, clip = float(norm.higher_is_worse), float(norm.clip)
    return np.array(
        [norm.lower, norm.upper, rising, clip, norm.out_lower, norm.out_upper, decimals]
    )


def children_rows(agg: Aggregation, rows: Mapping[str, int]) -> FloatArray:
    """An aggregate's children for the kernels: frame row, weight, substitute if missing."""
    return np.array(
        [
            [rows[c.id] for c in agg.children],
            [c.weight for c in agg.children],
            [math.nan if c.if_missing is None else c.if_missing for c in agg.children],
        ],
        dtype=np.float64,
    )


def _aggregate(
    node: Node, blk: Block, *, out: FloatArray, out_cov: FloatArray, decimals: int
) -> None:
    agg = node.aggregate
    if agg is None:  # pragma: no cover - only called for aggregates
        raise ValueError(f"node {node.id!r} is not an aggregate")
    children = blk.arguments.get((node.id, "children", 0))
    if children is None:
        children = blk.arguments[(node.id, "children", 0)] = children_rows(agg, blk.rows)
    operator = blk.arguments.get((node.id, "operator", decimals))
    if operator is None:
        operator = blk.arguments[(node.id, "operator", decimals)] = operator_row(agg, decimals)
    blk.kit.aggregate_rows(blk.frame, blk.cover, children, operator, out, out_cov, blk.work)


def _expression(node: Node, blk: Block, counted: Counted | None) -> tuple[FloatArray, FloatArray]:
    expr = node.expr
    if expr is None:  # pragma: no cover - build_model guarantees one source
        raise ValueError(f"node {node.id!r} has no source")
    raw = evaluate_expression(expr, blk.values, blk.n, counted=counted)
    refs = expr.names
    if len(refs) == 1:
        return raw, blk.coverage_of(refs[0])
    if refs:  # the mean of what it reads, added in order
        total = blk.coverage_of(refs[0]) + blk.coverage_of(refs[1])
        for r in refs[2:]:
            total += blk.coverage_of(r)
        return raw, total / len(refs)
    return raw, np.ones(blk.n)


def _normalise(node: Node, blk: Block, *, raw: FloatArray, out: FloatArray, decimals: int) -> None:
    norm = node.normalise
    if norm is None:  # pragma: no cover - only called with a normalisation
        return
    if norm.method is NormaliseMethod.BOUNDS and norm.formula is None:
        x = np.ascontiguousarray(transformed(raw, norm), dtype=np.float64)
        bounds = blk.arguments.get((node.id, "bounds", decimals))
        if bounds is None:
            bounds = blk.arguments[(node.id, "bounds", decimals)] = bounds_row(norm, decimals)
        blk.kit.normalise_bounds(x, bounds, out)
        return
    if norm.method is NormaliseMethod.BOUNDS:
        out[:] = by_formula(raw, norm)
    else:
        out[:] = by_period(raw, norm, blk.period_rows, blk.reference_raw.get(node.id))
    blk.kit.round_into(out, decimals)


def _cases(
    node: Node, blk: Block, *, raw: FloatArray, value: FloatArray, counted: Counted | None
) -> FloatArray:
    env = {**blk.values, "raw": raw, "value": value}
    decided = np.zeros(blk.n, dtype=bool)
    out = value.copy()
    for case in node.cases:
        hit = evaluate_condition(case.when, env, blk.n, counted=counted) & ~decided
        if hit.any():
            out = np.where(hit, evaluate_expression(case.value, env, blk.n, counted=counted), out)
            decided |= hit
    return out


def raw_source(node: Node, blk: Block) -> FloatArray:
    """The node's source value before normalisation (for fixing a distribution in `explain`)."""
    out = np.empty(blk.n)
    if node.aggregate is not None:
        _aggregate(node, blk, out=out, out_cov=np.empty(blk.n), decimals=-1)
        return out
    counted = blk.counts(node) if blk.count_groups(node) else None
    return np.array(_expression(node, blk, counted=counted)[0], dtype=np.float64)


def frame_rows(ids: Sequence[str]) -> dict[str, int]:
    """A frame row for each id, in order (for a block that keeps everything)."""
    return {name: i for i, name in enumerate(ids)}


def block_for(
    model: RiskModel,
    env: Mapping[str, FloatArray],
    *,
    node: Node,
    reference_raw: Mapping[str, FloatArray] | None = None,
) -> Block:
    """A numpy block to evaluate one node on its own, its inputs given in `env` (`explain`)."""
    n = len(next(iter(env.values())))
    names = [*dict.fromkeys([*node.references(), node.id])]
    rows = frame_rows(names)
    frame = np.full((len(names), n), np.nan)
    for name in names[:-1]:
        frame[rows[name]] = env[name]
    blk = Block(model, n, kit(False), frame, np.zeros((len(names), n)), rows, dict(env))
    blk.reference_raw = dict(reference_raw or {})
    return blk
