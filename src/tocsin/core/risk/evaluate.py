"""Evaluate a model over all regions at once: inputs (regions × indicators) → every node's value.

`evaluate` walks the nodes in topological order (`nodes.evaluate_node`); each node is a handful
of array operations, so the cost is linear in regions × nodes. Alongside each value it carries a
*coverage* figure in [0, 1]: the weighted share of the underlying raw indicators that were present
(1 = nothing missing), which is the reliability/missingness figure reported at every level.

Rows may belong to periods (a model runs over (region, period)): data-driven normalisations then
compare a region with the regions of its own period, and everything else is per row anyway.

Node values live in the rows of one frame per block, assigned by liveness (a row is reused once
nothing reads its node any more), so aggregates read their children without copying them. Blocks
of `COMPILED_FROM` rows or more use the compiled kernels; smaller ones numpy's, which give the
same results and never wait for a compiler.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from queue import SimpleQueue
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tocsin.core.risk.adjustments import NodeAdjustment, apply_adjustment
from tocsin.core.risk.model import Node, RiskModel
from tocsin.core.risk.nodes import Block, evaluate_node, kit
from tocsin.core.risk.normalisation import is_data_driven

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

COMPILED_FROM = 20_000
"""Blocks of at least this many rows use the compiled kernels (numpy below: no compilation)."""


@dataclass(frozen=True)
class RiskResult:
    """Every node's value and coverage per row (arrays of length `n`), inputs included.

    `periods` gives each row's period when the table has a period column (else empty).
    """

    n: int
    values: Mapping[str, FloatArray]
    coverage: Mapping[str, FloatArray]
    periods: tuple[str, ...] = ()

    def __getitem__(self, node_id: str) -> FloatArray:
        """The values of one node (or input)."""
        return self.values[node_id]


def period_groups(periods: Sequence[str]) -> list[IntArray]:
    """The rows of each period, periods in order of first appearance."""
    index: dict[str, list[int]] = {}
    for i, p in enumerate(periods):
        index.setdefault(p, []).append(i)
    return [np.array(rows, dtype=np.int64) for rows in index.values()]


def evaluate(
    model: RiskModel,
    inputs: Mapping[str, FloatArray],
    *,
    adjustments: Sequence[NodeAdjustment] = (),
    keep: Sequence[str] | None = None,
    periods: Sequence[str] = (),
    block: int = 1 << 16,
    workers: int = 1,
    compiled: bool | None = None,
) -> RiskResult:
    """Compute every node for every row; `inputs` maps input id → float array (NaN = missing).

    `periods` (one label per row, optional) makes data-driven normalisations per period. Rows are
    processed in blocks of `block` (so intermediate arrays stay in cache), by `workers` threads
    (the compiled kernels release the GIL); `keep` limits the ids whose values and coverage are
    returned (default: every input and node). Models with data-driven normalisation are
    evaluated in one block. `compiled` forces one kernel set (default: by block size).
    """
    n = _length(model, inputs)
    if periods and len(periods) != n:
        raise ValueError(f"{len(periods)} period labels for {n} rows")
    ids = list(keep) if keep is not None else [*model.input_ids, *model.node_ids]
    unknown = [i for i in ids if i not in model.input_ids and i not in model.node_ids]
    if unknown:
        raise KeyError(f"unknown ids to keep: {', '.join(unknown)}")
    plan = _plan(model, set(ids))
    node_ids = set(model.node_ids)
    out_values: dict[str, FloatArray] = {}
    out_coverage: dict[str, FloatArray] = {}
    presence = kit(n >= COMPILED_FROM if compiled is None else compiled).presence
    for i in ids:
        if i not in node_ids:  # an input: returned as given (adjusted if a scenario changes it)
            arr = _input(inputs, i, n=n, adjustments=adjustments)
            out_values[i] = arr
            out_coverage[i] = presence(np.ascontiguousarray(arr))
    kept_nodes = [i for i in ids if i in node_ids]
    if n <= block or any(is_data_driven(nd.normalise) for nd in model.nodes):
        groups = period_groups(periods) if periods else None
        blk = _run_block(
            model,
            plan,
            inputs=inputs,
            adjustments=adjustments,
            n=n,
            groups=groups,
            compiled=compiled,
        )
        for i in kept_nodes:
            out_values[i] = blk.values[i]
            out_coverage[i] = blk.coverage[i]
        return RiskResult(n, out_values, out_coverage, tuple(periods))
    for i in kept_nodes:
        out_values[i] = np.empty(n)
        out_coverage[i] = np.empty(n)

    arguments: dict[tuple[str, str, int], Any] = {}  # worked out once per node
    buffers: SimpleQueue[FloatArray] = SimpleQueue()  # one per thread, reused block to block
    for _ in range(max(1, workers)):
        buffers.put(np.empty((2 * plan.size + 3) * block))

    def run(start: int) -> None:
        stop = min(start + block, n)
        part = {k: np.asarray(v)[start:stop] for k, v in inputs.items()}
        adjs = [
            replace(a, mask=None if a.mask is None else a.mask[start:stop]) for a in adjustments
        ]
        buffer = buffers.get()
        blk = _run_block(
            model,
            plan,
            inputs=part,
            adjustments=adjs,
            n=stop - start,
            compiled=compiled,
            buffer=buffer,
            arguments=arguments,
        )
        for i in kept_nodes:
            out_values[i][start:stop] = blk.values[i]
            out_coverage[i][start:stop] = blk.coverage[i]
        buffers.put(buffer)

    starts = range(0, n, block)
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, starts))
    else:
        for start in starts:
            run(start)
    return RiskResult(n, out_values, out_coverage, tuple(periods))


def _input(
    inputs: Mapping[str, FloatArray], name: str, *, n: int, adjustments: Sequence[NodeAdjustment]
) -> FloatArray:
    arr = np.asarray(inputs[name], dtype=np.float64) if name in inputs else np.full(n, np.nan)
    for adj in adjustments:
        if adj.node == name:
            arr = apply_adjustment(arr, adj)
    return arr


@dataclass(frozen=True)
class _Plan:
    """The nodes to evaluate for the ids kept, and a frame row for each (reused by liveness)."""

    nodes: tuple[Node, ...]
    rows: Mapping[str, int]
    frame_inputs: tuple[str, ...]
    size: int


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
    # what aggregates read lives in frame rows; inputs among them are copied in at the start
    in_frame = {c.id for nd in nodes if nd.aggregate is not None for c in nd.aggregate.children}
    frame_inputs = tuple(i for i in model.input_ids if i in in_frame)
    last: dict[str, int] = {}
    for t, node in enumerate(nodes):
        for ref in node.references():
            last[ref] = t
    rows: dict[str, int] = {}
    free: list[int] = []
    for name in frame_inputs:
        rows[name] = len(rows)
    size = len(rows)
    for t, node in enumerate(nodes):
        if node.id in in_frame:  # taken before its children are released: it is written
            rows[node.id] = free.pop() if free else size  # while they are read
            size = max(size, rows[node.id] + 1)
        for ref in node.references():
            if last.get(ref) == t and ref in rows and ref not in keep:
                free.append(rows[ref])
    return _Plan(nodes, rows, frame_inputs, size)


def _run_block(
    model: RiskModel,
    plan: _Plan,
    *,
    inputs: Mapping[str, FloatArray],
    adjustments: Sequence[NodeAdjustment],
    n: int,
    compiled: bool | None,
    groups: Sequence[IntArray] | None = None,
    buffer: FloatArray | None = None,
    arguments: dict[tuple[str, str, int], Any] | None = None,
) -> Block:
    """Evaluate the plan's nodes for one block; `buffer` (≥ (2·rows + 3)·n floats) is reused
    memory for the frames and scratch space (fresh memory costs page faults on every block)."""
    use_compiled = n >= COMPILED_FROM if compiled is None else compiled
    flat = np.empty((2 * plan.size + 3) * n) if buffer is None else buffer
    frame = flat[: plan.size * n].reshape(plan.size, n)
    cover = flat[plan.size * n : 2 * plan.size * n].reshape(plan.size, n)
    scratch = flat[2 * plan.size * n : (2 * plan.size + 3) * n].reshape(3, n)
    values = {s.id: _input(inputs, s.id, n=n, adjustments=adjustments) for s in model.inputs}
    blk = Block(model, n, kit(use_compiled), frame, cover, plan.rows, values, space=scratch)
    blk.period_rows = groups
    if arguments is not None:
        blk.arguments = arguments
    for name in plan.frame_inputs:
        frame[plan.rows[name]] = values[name]
        cover[plan.rows[name]] = blk.coverage_of(name)
    by_node: dict[str, list[NodeAdjustment]] = {}
    for adj in adjustments:
        if adj.node not in values:
            by_node.setdefault(adj.node, []).append(adj)
    with np.errstate(all="ignore"):
        for node in plan.nodes:
            evaluate_node(node, blk)
            for adj in by_node.get(node.id, ()):
                blk.values[node.id][:] = apply_adjustment(blk.values[node.id], adj)
    return blk


def _length(model: RiskModel, inputs: Mapping[str, FloatArray]) -> int:
    lengths = {len(np.asarray(inputs[i])) for i in model.input_ids if i in inputs}
    if len(lengths) > 1:
        raise ValueError(f"input arrays differ in length: {sorted(lengths)}")
    if not lengths:
        raise ValueError("none of the model's inputs were given")
    return lengths.pop()
