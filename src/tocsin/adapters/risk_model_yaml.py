"""Risk models from YAML, validated into frozen core types (the language: `docs/risk.md`).

Every problem is reported with the file, the path inside it (`nodes[12] (HA.NAT).normalise.lower`)
and the reason; a value that came from a parameter table names the table's file, line and column.
Before validation, parameter tables (`risk_parameters_csv`) and then `defaults` fill the node
mappings: a node's own value wins over `defaults`, and may not also come from a table.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tocsin.adapters.config_errors import loc_path, parse_text, read_text
from tocsin.adapters.risk_model_extension import extended
from tocsin.adapters.risk_parameters_csv import ParameterTableYaml, Provenance, apply_tables
from tocsin.core.errors import InvalidConfig, Problem
from tocsin.core.risk.adjustments import AdjustOp
from tocsin.core.risk.expressions import Expression, ExpressionError, compile_expression
from tocsin.core.risk.infrastructure import AssetEffect, Effect
from tocsin.core.risk.live import LiveSource
from tocsin.core.risk.model import (
    CASE_NAMES,
    FORMULA_NAMES,
    Aggregation,
    Case,
    Child,
    ClassScheme,
    InputSpec,
    Method,
    MissingPolicy,
    Node,
    Normalisation,
    NormaliseMethod,
    RiskModel,
    Scale,
    TableSpec,
    build_model,
)

UNION_TAGS = frozenset({"str", "ChildYaml", "InputYaml"})  # pydantic union branches in error paths

Direction = Literal["higher_is_worse", "higher_is_better", "ascending", "descending"]
RISING: Mapping[str, bool] = {
    "higher_is_worse": True,
    "ascending": True,
    "higher_is_better": False,
    "descending": False,
}
"""Whether the score rises with the raw value, per direction (`ascending` is the neutral name of
`higher_is_worse`, `descending` of `higher_is_better`)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NormaliseYaml(_Strict):
    """`normalise:` of a node."""

    method: NormaliseMethod = NormaliseMethod.BOUNDS
    scale: Scale = Scale.LINEAR
    lower: float | None = None
    upper: float | None = None
    direction: Direction = "ascending"
    clip: bool = True
    range: tuple[float, float] = (0.0, 10.0)
    formula: str | None = None


class CaseYaml(_Strict):
    """One entry of `cases:`."""

    when: str
    value: float | str


class ChildYaml(_Strict):
    """A child written as a mapping."""

    id: str
    weight: float = Field(default=1.0, ge=0)
    if_missing: float | None = None


class AggregateYaml(_Strict):
    """`aggregate:` of a node."""

    method: Method
    children: list[str | ChildYaml] = Field(min_length=1)
    weights: list[float] | None = None
    missing: MissingPolicy = MissingPolicy.SKIP
    min_present: int = Field(default=1, ge=0)
    scale: float = 10.0
    offset: float = 1.0


class NodeYaml(_Strict):
    """One node."""

    id: str = Field(min_length=1)
    name: str = ""
    expr: str | float | None = None
    aggregate: AggregateYaml | None = None
    normalise: NormaliseYaml | None = None
    cases: list[CaseYaml] = []
    round: int | None = None
    floor: float | None = None
    cap: float | None = None
    publish: str | None = None
    meta: dict[str, str] = {}


class InputYaml(_Strict):
    """One raw input column."""

    id: str = Field(min_length=1)
    name: str = ""
    unit: str = ""
    rollup: Literal["sum", "weighted_mean", "mean", "max", "min"] = "weighted_mean"
    live: LiveSource | None = None


class ClassesYaml(_Strict):
    """A class scheme."""

    nodes: list[str] = Field(min_length=1)
    thresholds: list[float]
    labels: list[str]
    levels: list[str] = []


class TableYaml(_Strict):
    """How input tables are laid out."""

    id_column: str = "id"
    name_column: str | None = None
    period_column: str | None = None
    skip_rows: int = Field(default=0, ge=0)
    missing: list[str] = ["", "NA", "NaN", "nan"]


class RollupYaml(_Strict):
    """Roll-up settings."""

    weight: str | None = None


class NormaliseDefaults(_Strict):
    """Defaults for every `normalise:` block that does not set them."""

    method: NormaliseMethod | None = None
    scale: Scale | None = None
    direction: Direction | None = None
    clip: bool | None = None
    range: tuple[float, float] | None = None
    lower: float | None = None
    upper: float | None = None


class AggregateDefaults(_Strict):
    """Defaults for every `aggregate:` block that does not set them."""

    method: Method | None = None
    missing: MissingPolicy | None = None
    min_present: int | None = Field(default=None, ge=0)
    scale: float | None = None
    offset: float | None = None


class DefaultsYaml(_Strict):
    """Defaults applied to every node that does not say otherwise."""

    round: int | None = None
    normalise: NormaliseDefaults | None = None
    aggregate: AggregateDefaults | None = None


class EffectYaml(_Strict):
    """A change of a value: add, multiply or set by an amount."""

    op: AdjustOp
    amount: float


class AssetEffectYaml(_Strict):
    """How failed or degraded assets change an input or node of their region."""

    target: str
    kinds: list[str] = []
    assets: list[str] = []
    failed: EffectYaml | None = None
    degraded: EffectYaml | None = None
    clip: tuple[float, float] | None = None

    def build(self) -> AssetEffect:
        """The core type."""

        def effect(e: EffectYaml | None) -> Effect | None:
            return None if e is None else Effect(e.op, e.amount)

        return AssetEffect(
            self.target,
            tuple(self.kinds),
            tuple(self.assets),
            effect(self.failed),
            effect(self.degraded),
            self.clip,
        )


class ModelYaml(_Strict):
    """A whole model file."""

    id: str = Field(min_length=1)
    name: str = ""
    description: str = ""
    root: str
    table: TableYaml = TableYaml()
    rollup: RollupYaml = RollupYaml()
    defaults: DefaultsYaml = DefaultsYaml()
    parameters: list[ParameterTableYaml] = []
    inputs: list[str | InputYaml] = Field(min_length=1)
    nodes: list[NodeYaml] = Field(min_length=1)
    classes: list[ClassesYaml] = []
    rank: list[str] = []
    asset_effects: list[AssetEffectYaml] = []


class _Prelude(BaseModel):
    """The sections that change the nodes before they are validated."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    defaults: DefaultsYaml = DefaultsYaml()
    parameters: list[ParameterTableYaml] = []


def load_model(path: str | Path) -> RiskModel:
    """Read and validate a model file; InvalidConfig lists every problem (file, path, reason).
    Parameter tables are found relative to the model file."""
    problems: list[Problem] = []
    text = read_text(Path(path), problems)
    if text is None:
        raise InvalidConfig(problems)
    return parse_model(text, where=str(path), base=Path(path).parent)


def parse_model(text: str, *, where: str = "<model>", base: Path | None = None) -> RiskModel:
    """Validate a model given as YAML text (read by the bounded reader every configuration
    file goes through: no aliases, no repeated keys, bounded nesting)."""
    problems: list[Problem] = []
    data = parse_text(text, where, problems)
    if problems:
        raise InvalidConfig(problems)
    return model_from_mapping(data, where=where, base=base)


def validation_problems(
    err: ValidationError, data: Any, where: str, provenance: Provenance | None = None
) -> list[Problem]:
    """Pydantic's errors as problems: a readable path, a reason, and the table cell if any."""
    problems: list[Problem] = []
    for e in err.errors(include_url=False):
        if e["type"] == "string_type" and isinstance(e.get("input"), Mapping):
            continue  # the mapping branch of `id | {id: …}` reports the real problem
        reason = e["msg"]
        if e["type"] == "extra_forbidden":
            key = e["loc"][-1]
            reason = f"unknown key {key!r}"
            if e.get("input") is None:
                reason += (
                    " with no value: a comma inside an unquoted text in {…} starts a new key;"
                    ' quote the text, e.g. name: "Population, total"'
                )
        source = provenance.of(tuple(e["loc"])) if provenance is not None else None
        if source:
            reason += f" (the value comes from {source})"
        loc = [p for p in e["loc"] if p not in UNION_TAGS]
        problems.append(Problem(where, loc_path(loc, data), reason))
    return problems


def _prepare(data: Any, where: str, base: Path | None) -> tuple[Any, Provenance]:
    """Fill the node mappings from parameter tables, then from `defaults` (a copy of `data`)."""
    if not isinstance(data, Mapping):
        raise InvalidConfig([Problem(where, "", "a model is a mapping (id, root, inputs, nodes)")])
    try:
        prelude = _Prelude.model_validate(data)
    except ValidationError as err:
        raise InvalidConfig(validation_problems(err, data, where)) from err
    filled: MutableMapping[str, Any] = copy.deepcopy(dict(data))
    problems, provenance = apply_tables(filled, prelude.parameters, base=base, where=where)
    if problems:
        raise InvalidConfig(problems)
    raw_defaults = filled.get("defaults") or {}
    for node in filled.get("nodes") or []:
        if not isinstance(node, MutableMapping):
            continue
        if "round" in raw_defaults and "round" not in node:
            node["round"] = raw_defaults["round"]
        for section in ("normalise", "aggregate"):
            given = raw_defaults.get(section)
            if isinstance(given, Mapping) and isinstance(node.get(section), MutableMapping):
                for key, value in given.items():
                    node[section].setdefault(key, value)
    return filled, provenance


def model_from_mapping(data: Any, *, where: str = "<model>", base: Path | None = None) -> RiskModel:
    """Validate a model given as already-parsed data (mapping); `base` is where parameter
    tables and a model it `extends` are looked for (default: the working directory)."""
    data = extended(data, where=where, base=base or Path.cwd())
    filled, provenance = _prepare(data, where, base)
    try:
        spec = ModelYaml.model_validate(filled)
    except ValidationError as err:
        raise InvalidConfig(validation_problems(err, filled, where, provenance)) from err
    problems: list[Problem] = []
    nodes = [_node(n, i, where, problems) for i, n in enumerate(spec.nodes)]
    if problems:
        raise InvalidConfig(problems)
    inputs = [_input(i) for i in spec.inputs]
    t = spec.table
    return build_model(
        id=spec.id,
        name=spec.name,
        root=spec.root,
        inputs=inputs,
        nodes=[n for n in nodes if n is not None],
        classes=[
            ClassScheme(tuple(c.nodes), tuple(c.thresholds), tuple(c.labels), tuple(c.levels))
            for c in spec.classes
        ],
        rank=spec.rank,
        rollup_weight=spec.rollup.weight,
        table=TableSpec(t.id_column, t.name_column, t.skip_rows, tuple(t.missing), t.period_column),
        description=spec.description,
        asset_effects=[e.build() for e in spec.asset_effects],
        where=where,
    )


def _input(spec: str | InputYaml) -> InputSpec:
    if isinstance(spec, str):
        return InputSpec(spec)
    live = None if spec.live is None else str(spec.live)
    return InputSpec(spec.id, spec.name, spec.unit, spec.rollup, live)


def _expr(
    source: str | float,
    path: str,
    where: str,
    problems: list[Problem],
    local: frozenset[str] = frozenset(),
) -> Expression | None:
    try:
        return compile_expression(str(source), local_names=local)
    except ExpressionError as err:
        problems.append(Problem(where, path, str(err)))
        return None


def _aggregation(
    spec: AggregateYaml, path: str, where: str, problems: list[Problem]
) -> Aggregation:
    children = [Child(c) if isinstance(c, str) else Child(**c.model_dump()) for c in spec.children]
    if spec.weights is not None:
        if len(spec.weights) != len(children):
            problems.append(Problem(where, f"{path}.aggregate.weights", "one weight per child"))
        else:
            children = [
                Child(c.id, w, c.if_missing) for c, w in zip(children, spec.weights, strict=True)
            ]
    return Aggregation(
        spec.method, tuple(children), spec.missing, spec.min_present, spec.scale, spec.offset
    )


def _node(spec: NodeYaml, i: int, where: str, problems: list[Problem]) -> Node | None:
    path = f"nodes[{i}] ({spec.id})"
    before = len(problems)
    expr = None if spec.expr is None else _expr(spec.expr, f"{path}.expr", where, problems)
    aggregate = None
    if spec.aggregate is not None:
        aggregate = _aggregation(spec.aggregate, path, where, problems)
    normalise = None
    if spec.normalise is not None:
        normalise = _normalisation(spec.normalise, f"{path}.normalise", where, problems)
    cases = []
    for j, c in enumerate(spec.cases):
        when = _expr(c.when, f"{path}.cases[{j}].when", where, problems, CASE_NAMES)
        value = _expr(c.value, f"{path}.cases[{j}].value", where, problems, CASE_NAMES)
        if when is not None and value is not None:
            cases.append(Case(when, value))
    publish = None
    if spec.publish is not None:
        publish = _expr(spec.publish, f"{path}.publish", where, problems, CASE_NAMES)
    if len(problems) > before:
        return None
    return Node(
        id=spec.id,
        name=spec.name,
        expr=expr,
        aggregate=aggregate,
        normalise=normalise,
        cases=tuple(cases),
        round=spec.round,
        floor=spec.floor,
        cap=spec.cap,
        publish=publish,
        meta=dict(spec.meta),
    )


def _normalisation(
    spec: NormaliseYaml, path: str, where: str, problems: list[Problem]
) -> Normalisation | None:
    if spec.method is NormaliseMethod.BOUNDS and (spec.lower is None or spec.upper is None):
        problems.append(Problem(where, path, "bounds normalisation needs lower and upper"))
        return None
    formula = None
    if spec.formula is not None:
        formula = _expr(spec.formula, f"{path}.formula", where, problems, FORMULA_NAMES)
        if formula is not None and formula.names:
            problems.append(Problem(where, f"{path}.formula", "may only read x"))
    return Normalisation(
        method=spec.method,
        scale=spec.scale,
        lower=0.0 if spec.lower is None else spec.lower,
        upper=1.0 if spec.upper is None else spec.upper,
        higher_is_worse=RISING[spec.direction],
        clip=spec.clip,
        out_lower=spec.range[0],
        out_upper=spec.range[1],
        formula=formula,
    )
