"""The composite-index model: a DAG of nodes (normalised indicators and aggregates), as data.

A model is configuration (YAML, validated by an adapter into these frozen types); nothing about a
particular index is written in Python. Every node computes its value in the same order:

1. *source*: an expression over inputs and earlier nodes (`expr`), or an aggregation of children;
2. *normalise* (optional): fixed bounds (linear, log10 or a custom formula; direction; clipping),
   or a data-driven method (percentile rank, z-score, min-max over the regions);
3. *cases* (optional): conditional rules, the first whose condition holds replaces the value;
4. *round* (optional, half away from zero as Excel's ROUND, to 15 significant digits first);
5. *floor* / *cap* (optional);
6. *publish* (optional): a condition; where it does not hold the value is withheld (missing),
   e.g. "at least 22 of the 36 indicators present": `count_present(VULNERABILITY) >= 22`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from tocsin.core.errors import InvalidConfig, Problem
from tocsin.core.risk.expressions import Expression
from tocsin.core.risk.infrastructure import AssetEffect


class Method(StrEnum):
    """Aggregation operators."""

    MEAN = "mean"
    GEOMETRIC = "geometric"
    INFORM_GEOMETRIC = "inform_geometric"
    MAX = "max"
    MIN = "min"
    SUM = "sum"
    PRODUCT = "product"


METHOD_CODES: Mapping[Method, int] = {
    Method.MEAN: 0,
    Method.GEOMETRIC: 1,
    Method.INFORM_GEOMETRIC: 2,
    Method.MAX: 3,
    Method.MIN: 4,
    Method.SUM: 5,
    Method.PRODUCT: 6,
}
"""The compiled kernels' code of every operator: an explicit table, never the enum's order."""


class Scale(StrEnum):
    """How a raw value is transformed before fixed-bound normalisation."""

    LINEAR = "linear"
    LOG10 = "log10"


class NormaliseMethod(StrEnum):
    """Normalisation methods: fixed bounds, or relative to the regions being scored."""

    BOUNDS = "bounds"
    PERCENTILE = "percentile_rank"
    ZSCORE = "zscore"
    DATA_MINMAX = "data_minmax"


class MissingPolicy(StrEnum):
    """What an aggregate does with missing children."""

    SKIP = "skip"  # drop them and renormalise the weights over what is present
    PROPAGATE = "propagate"  # any missing child makes the aggregate missing


@dataclass(frozen=True, slots=True)
class Normalisation:
    """Map a raw value to the score scale [`out_lower`, `out_upper`] (default 0–10, 10 = worst).

    With `method = bounds`, `lower`/`upper` are on the transformed scale (log10 bounds are
    log10 units, as INFORM publishes them). `higher_is_worse = False` inverts. With `clip`, values
    beyond the bounds get the end of the scale. `formula` (an expression of `x`) replaces the
    linear map between the bounds.
    """

    method: NormaliseMethod = NormaliseMethod.BOUNDS
    scale: Scale = Scale.LINEAR
    lower: float = 0.0
    upper: float = 1.0
    higher_is_worse: bool = True
    clip: bool = True
    out_lower: float = 0.0
    out_upper: float = 10.0
    formula: Expression | None = None


@dataclass(frozen=True, slots=True)
class Case:
    """A conditional rule: where `when` holds, the node's value becomes `value`.

    Both are expressions; besides inputs and nodes they may read `raw` (the value before
    normalisation) and `value` (the value after it). `value` may be `nan` (make it missing).
    """

    when: Expression
    value: Expression


@dataclass(frozen=True, slots=True)
class Child:
    """One child of an aggregate with its weight and an optional value substituted if missing."""

    id: str
    weight: float = 1.0
    if_missing: float | None = None


@dataclass(frozen=True, slots=True)
class Aggregation:
    """How an aggregate node combines its children."""

    method: Method
    children: tuple[Child, ...]
    missing: MissingPolicy = MissingPolicy.SKIP
    min_present: int = 1
    scale: float = 10.0  # inform_geometric: the top of the score scale
    offset: float = 1.0  # inform_geometric: reversed scores are mapped to [offset, scale]


@dataclass(frozen=True, slots=True)
class Node:
    """One node of the index: an indicator score, a derived value or an aggregate."""

    id: str
    name: str = ""
    expr: Expression | None = None
    aggregate: Aggregation | None = None
    normalise: Normalisation | None = None
    cases: tuple[Case, ...] = ()
    round: int | None = None
    floor: float | None = None
    cap: float | None = None
    publish: Expression | None = None
    meta: Mapping[str, str] = field(default_factory=dict)

    def expressions(self) -> tuple[Expression, ...]:
        """Every expression of the node: source, cases, normalisation formula, publication."""
        out: list[Expression] = [] if self.expr is None else [self.expr]
        for case in self.cases:
            out.extend((case.when, case.value))
        if self.normalise is not None and self.normalise.formula is not None:
            out.append(self.normalise.formula)
        if self.publish is not None:
            out.append(self.publish)
        return tuple(out)

    def references(self) -> tuple[str, ...]:
        """The ids (inputs or nodes) this node reads."""
        refs: list[str] = []
        if self.aggregate is not None:
            refs.extend(c.id for c in self.aggregate.children)
        for expr in self.expressions():
            refs.extend(expr.names)
        return tuple(dict.fromkeys(refs))

    def count_groups(self) -> tuple[tuple[str, ...], ...]:
        """The id groups the node's counting functions count the inputs of."""
        return tuple(dict.fromkeys(g for e in self.expressions() for g in e.counts))


CASE_NAMES = frozenset({"raw", "value"})
"""Names bound by the engine inside cases and publication rules (so no id may take them)."""
FORMULA_NAMES = frozenset({"x"})
"""The name bound inside a normalisation formula (the transformed raw value)."""


@dataclass(frozen=True, slots=True)
class ClassScheme:
    """Classes by fixed thresholds: a value ≥ thresholds[i] is at least class labels[i + 1].

    `levels` optionally maps each label to a warning level (blue/yellow/orange/red) or "".
    """

    nodes: tuple[str, ...]
    thresholds: tuple[float, ...]
    labels: tuple[str, ...]
    levels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InputSpec:
    """A raw input column: id, name, unit, and how grid cells roll up into their parent."""

    id: str
    name: str = ""
    unit: str = ""
    rollup: str = "weighted_mean"  # sum | weighted_mean | mean | max | min
    live: str | None = None  # a live source (`core.risk.live.LiveSource`), not a table column


@dataclass(frozen=True, slots=True)
class TableSpec:
    """How an input table is laid out: id column, name column, extra header rows, missing marks."""

    id_column: str = "id"
    name_column: str | None = None
    skip_rows: int = 0
    missing: tuple[str, ...] = ("", "NA", "NaN", "nan")
    period_column: str | None = None  # one row per (region, period) when set


@dataclass(frozen=True, slots=True)
class RiskModel:
    """A complete composite-index model; `nodes` are in evaluation (topological) order."""

    id: str
    name: str
    root: str
    inputs: tuple[InputSpec, ...]
    nodes: tuple[Node, ...]
    classes: tuple[ClassScheme, ...] = ()
    rank: tuple[str, ...] = ()
    rollup_weight: str | None = None
    table: TableSpec = TableSpec()
    description: str = ""
    asset_effects: tuple[AssetEffect, ...] = ()
    leaves: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """For every node and input: the raw inputs under it (what counting functions count)."""

    def inputs_under(self, ids: Sequence[str]) -> tuple[str, ...]:
        """The raw inputs under any of `ids` (each once, in the order first met)."""
        return tuple(dict.fromkeys(leaf for i in ids for leaf in self.leaves.get(i, (i,))))

    def node(self, node_id: str) -> Node:
        """The node with this id (KeyError if none)."""
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    @property
    def node_ids(self) -> tuple[str, ...]:
        """Every node id, in evaluation order."""
        return tuple(n.id for n in self.nodes)

    @property
    def input_ids(self) -> tuple[str, ...]:
        """Every declared input id."""
        return tuple(i.id for i in self.inputs)

    @property
    def table_input_ids(self) -> tuple[str, ...]:
        """The inputs an indicator table must hold (every input but the live ones)."""
        return tuple(i.id for i in self.inputs if i.live is None)

    @property
    def live_inputs(self) -> tuple[InputSpec, ...]:
        """The inputs filled from Tocsin's own state at each evaluation (`live:`)."""
        return tuple(i for i in self.inputs if i.live is not None)

    def scheme_for(self, node_id: str) -> ClassScheme | None:
        """The class scheme that applies to a node, if any."""
        for scheme in self.classes:
            if node_id in scheme.nodes:
                return scheme
        return None


def build_model(
    *,
    id: str,
    name: str,
    root: str,
    inputs: Sequence[InputSpec],
    nodes: Sequence[Node],
    classes: Sequence[ClassScheme] = (),
    rank: Sequence[str] = (),
    rollup_weight: str | None = None,
    table: TableSpec = TableSpec(),
    description: str = "",
    asset_effects: Sequence[AssetEffect] = (),
    where: str = "model",
) -> RiskModel:
    """Check a model (ids, references, cycles, classes) and order its nodes topologically.

    Raises InvalidConfig listing every problem found.
    """
    problems: list[Problem] = []
    input_ids = [i.id for i in inputs]
    node_by_id: dict[str, Node] = {}
    for i, node in enumerate(nodes):
        if node.id in node_by_id or node.id in input_ids:
            problems.append(Problem(where, f"nodes[{i}].id", f"duplicate id {node.id!r}"))
        if node.id in CASE_NAMES:
            problems.append(Problem(where, f"nodes[{i}].id", f"{node.id!r} is a reserved name"))
        node_by_id[node.id] = node
        problems.extend(_check_node(node, f"nodes[{i}]", where))
    if len(set(input_ids)) != len(input_ids):
        problems.append(Problem(where, "inputs", "duplicate input ids"))
    problems.extend(
        Problem(where, "inputs", f"{i!r} is a reserved name") for i in input_ids if i in CASE_NAMES
    )
    known = set(input_ids) | set(node_by_id)
    problems.extend(_check_references(nodes, known, where))
    if root not in node_by_id:
        problems.append(Problem(where, "root", f"unknown node {root!r}"))
    for j, scheme in enumerate(classes):
        problems.extend(_check_scheme(scheme, f"classes[{j}]", where, node_by_id))
    problems.extend(
        Problem(where, "rank", f"unknown node {r!r}") for r in rank if r not in node_by_id
    )
    if rollup_weight is not None and rollup_weight not in input_ids:
        problems.append(Problem(where, "rollup.weight", f"unknown input {rollup_weight!r}"))
    problems.extend(
        Problem(where, f"asset_effects[{j}].target", f"unknown id {e.target!r}")
        for j, e in enumerate(asset_effects)
        if e.target not in known
    )
    if problems:
        raise InvalidConfig(problems)
    ordered = _topological(node_by_id, where)
    return RiskModel(
        id=id,
        name=name,
        root=root,
        inputs=tuple(inputs),
        nodes=ordered,
        classes=tuple(classes),
        rank=tuple(rank),
        rollup_weight=rollup_weight,
        table=table,
        description=description,
        asset_effects=tuple(asset_effects),
        leaves=_leaves(ordered, input_ids),
    )


def _check_references(nodes: Sequence[Node], known: set[str], where: str) -> list[Problem]:
    problems: list[Problem] = []
    for i, node in enumerate(nodes):
        path = f"nodes[{i}] ({node.id})"
        for ref in node.references():
            if ref not in known:
                problems.append(Problem(where, path, f"unknown id {ref!r}"))
        for group in node.count_groups():
            problems.extend(
                Problem(where, path, f"counting over unknown id {ref!r}")
                for ref in group
                if ref not in known
            )
    return problems


def _leaves(ordered: Sequence[Node], input_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The raw inputs under every node (nodes come in evaluation order, children first)."""
    out: dict[str, tuple[str, ...]] = {i: (i,) for i in input_ids}
    for node in ordered:
        out[node.id] = tuple(
            dict.fromkeys(leaf for ref in node.references() for leaf in out.get(ref, ()))
        )
    return out


def _check_node(node: Node, path: str, where: str) -> list[Problem]:
    problems: list[Problem] = []
    if (node.expr is None) == (node.aggregate is None):
        problems.append(Problem(where, path, "a node needs exactly one of expr or aggregate"))
    agg = node.aggregate
    if agg is not None:
        if not agg.children:
            problems.append(Problem(where, f"{path}.aggregate", "no children"))
        if any(c.weight < 0 for c in agg.children):
            problems.append(Problem(where, f"{path}.aggregate", "negative weight"))
        if agg.min_present < 0:
            problems.append(Problem(where, f"{path}.aggregate", "min_present must be ≥ 0"))
    norm = node.normalise
    if norm is not None and norm.method is NormaliseMethod.BOUNDS and norm.upper <= norm.lower:
        problems.append(Problem(where, f"{path}.normalise", "upper bound must exceed lower"))
    if node.floor is not None and node.cap is not None and node.floor > node.cap:
        problems.append(Problem(where, path, "floor above cap"))
    return problems


def _check_scheme(
    scheme: ClassScheme, path: str, where: str, nodes: Mapping[str, Node]
) -> list[Problem]:
    problems: list[Problem] = []
    if len(scheme.labels) != len(scheme.thresholds) + 1:
        problems.append(Problem(where, path, "needs one more label than thresholds"))
    if list(scheme.thresholds) != sorted(scheme.thresholds):
        problems.append(Problem(where, path, "thresholds must be ascending"))
    if scheme.levels and len(scheme.levels) != len(scheme.labels):
        problems.append(Problem(where, path, "levels must match labels one to one"))
    problems.extend(
        Problem(where, path, f"unknown node {n!r}") for n in scheme.nodes if n not in nodes
    )
    return problems


def _topological(nodes: Mapping[str, Node], where: str) -> tuple[Node, ...]:
    order: list[Node] = []
    state: dict[str, int] = {}
    for start in nodes:
        if start in state:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            current, idx = stack.pop()
            refs = [r for r in nodes[current].references() if r in nodes]
            if idx == 0:
                if state.get(current) == 2:
                    continue
                state[current] = 1
            if idx < len(refs):
                stack.append((current, idx + 1))
                nxt = refs[idx]
                if state.get(nxt) == 1:
                    raise InvalidConfig([Problem(where, current, f"cycle through {nxt!r}")])
                if nxt not in state:
                    stack.append((nxt, 0))
            else:
                state[current] = 2
                order.append(nodes[current])
    return tuple(order)
