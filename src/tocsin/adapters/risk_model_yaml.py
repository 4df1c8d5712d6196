"""Risk models from YAML (validated into frozen core types) and indicator tables from CSV.

Every problem is reported with the file, the path inside it (`nodes[12].normalise.lower`, or the
node id) and the reason; CSV problems name the file, the line and the column.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tocsin.core.errors import InvalidConfig, InvalidInput, Problem
from tocsin.core.risk.adjustments import AdjustOp
from tocsin.core.risk.expressions import Expression, ExpressionError, compile_expression
from tocsin.core.risk.model import (
    LOCAL_NAMES,
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
from tocsin.core.risk.scenarios import (
    DemandChange,
    Perturbation,
    RegionSelector,
    Scenario,
    SectorSystem,
)
from tocsin.core.risk.table import IndicatorTable

FloatArray = NDArray[np.float64]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NormaliseYaml(_Strict):
    """`normalise:` of a node."""

    method: NormaliseMethod = NormaliseMethod.BOUNDS
    scale: Scale = Scale.LINEAR
    lower: float | None = None
    upper: float | None = None
    direction: Literal["higher_is_worse", "higher_is_better"] = "higher_is_worse"
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
    round: int | Literal["default"] | None = "default"
    floor: float | None = None
    cap: float | None = None
    meta: dict[str, str] = {}


class InputYaml(_Strict):
    """One raw input column."""

    id: str = Field(min_length=1)
    name: str = ""
    unit: str = ""
    rollup: Literal["sum", "weighted_mean", "mean", "max", "min"] = "weighted_mean"


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
    skip_rows: int = Field(default=0, ge=0)
    missing: list[str] = ["", "NA", "NaN", "nan"]


class RollupYaml(_Strict):
    """Roll-up settings."""

    weight: str | None = None


class DefaultsYaml(_Strict):
    """Defaults applied to every node that does not say otherwise."""

    round: int | None = None


class ModelYaml(_Strict):
    """A whole model file."""

    id: str = Field(min_length=1)
    name: str = ""
    description: str = ""
    root: str
    table: TableYaml = TableYaml()
    rollup: RollupYaml = RollupYaml()
    defaults: DefaultsYaml = DefaultsYaml()
    inputs: list[str | InputYaml] = Field(min_length=1)
    nodes: list[NodeYaml] = Field(min_length=1)
    classes: list[ClassesYaml] = []
    rank: list[str] = []


def load_model(path: str | Path) -> RiskModel:
    """Read and validate a model file; InvalidConfig lists every problem (file, path, reason)."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise InvalidConfig([Problem(where, "", f"cannot read: {err.strerror}")]) from err
    return parse_model(text, where=where)


def parse_model(text: str, *, where: str = "<model>") -> RiskModel:
    """Validate a model given as YAML text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f"line {mark.line + 1}" if mark is not None else ""
        raise InvalidConfig([Problem(where, at, f"invalid YAML: {err}")]) from err
    return model_from_mapping(data, where=where)


def model_from_mapping(data: Any, *, where: str = "<model>") -> RiskModel:
    """Validate a model given as already-parsed data (mapping)."""
    try:
        spec = ModelYaml.model_validate(data)
    except ValidationError as err:
        problems = [
            Problem(where, _loc(e["loc"], data), e["msg"]) for e in err.errors(include_url=False)
        ]
        raise InvalidConfig(problems) from err
    problems = []
    nodes = [_node(n, i, spec.defaults, where, problems) for i, n in enumerate(spec.nodes)]
    if problems:
        raise InvalidConfig(problems)
    inputs = [
        InputSpec(i) if isinstance(i, str) else InputSpec(**i.model_dump()) for i in spec.inputs
    ]
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
        table=TableSpec(
            spec.table.id_column,
            spec.table.name_column,
            spec.table.skip_rows,
            tuple(spec.table.missing),
        ),
        description=spec.description,
        where=where,
    )


def _loc(loc: Sequence[int | str], data: Any) -> str:
    out = ""
    cursor = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            cursor = cursor[part] if isinstance(cursor, list) and part < len(cursor) else None
            if isinstance(cursor, Mapping) and "id" in cursor and out.endswith("]"):
                out += f" ({cursor['id']})"
        elif part in {"str", "ChildYaml", "InputYaml"}:
            continue
        else:
            out += f".{part}" if out else str(part)
            cursor = cursor.get(part) if isinstance(cursor, Mapping) else None
    return out


def _expr(
    source: str | float, path: str, where: str, problems: list[Problem], local: bool = False
) -> Expression | None:
    try:
        return compile_expression(str(source), local_names=LOCAL_NAMES if local else frozenset())
    except ExpressionError as err:
        problems.append(Problem(where, path, str(err)))
        return None


def _node(
    spec: NodeYaml, i: int, defaults: DefaultsYaml, where: str, problems: list[Problem]
) -> Node | None:
    path = f"nodes[{i}] ({spec.id})"
    before = len(problems)
    expr = None if spec.expr is None else _expr(spec.expr, f"{path}.expr", where, problems)
    aggregate = None
    if spec.aggregate is not None:
        agg = spec.aggregate
        children = [
            Child(c) if isinstance(c, str) else Child(**c.model_dump()) for c in agg.children
        ]
        if agg.weights is not None:
            if len(agg.weights) != len(children):
                problems.append(Problem(where, f"{path}.aggregate.weights", "one weight per child"))
            else:
                children = [
                    Child(c.id, w, c.if_missing) for c, w in zip(children, agg.weights, strict=True)
                ]
        aggregate = Aggregation(
            agg.method, tuple(children), agg.missing, agg.min_present, agg.scale, agg.offset
        )
    normalise = None
    if spec.normalise is not None:
        normalise = _normalisation(spec.normalise, f"{path}.normalise", where, problems)
    cases = []
    for j, c in enumerate(spec.cases):
        when = _expr(c.when, f"{path}.cases[{j}].when", where, problems, local=True)
        value = _expr(c.value, f"{path}.cases[{j}].value", where, problems, local=True)
        if when is not None and value is not None:
            cases.append(Case(when, value))
    if len(problems) > before:
        return None
    return Node(
        id=spec.id,
        name=spec.name,
        expr=expr,
        aggregate=aggregate,
        normalise=normalise,
        cases=tuple(cases),
        round=defaults.round if spec.round == "default" else spec.round,
        floor=spec.floor,
        cap=spec.cap,
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
        formula = _expr(spec.formula, f"{path}.formula", where, problems, local=True)
        if formula is not None and formula.names:
            problems.append(Problem(where, f"{path}.formula", "may only read x"))
    return Normalisation(
        method=spec.method,
        scale=spec.scale,
        lower=0.0 if spec.lower is None else spec.lower,
        upper=1.0 if spec.upper is None else spec.upper,
        higher_is_worse=spec.direction == "higher_is_worse",
        clip=spec.clip,
        out_lower=spec.range[0],
        out_upper=spec.range[1],
        formula=formula,
    )


def read_indicator_csv(
    path: str | Path, table: TableSpec, *, required: Sequence[str] = ()
) -> IndicatorTable:
    """Read a CSV of one row per region, one column per indicator id (NaN for missing marks)."""
    where = str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except OSError as err:
        raise InvalidInput([Problem(where, "", f"cannot read: {err.strerror}")]) from err
    except (UnicodeDecodeError, csv.Error) as err:
        raise InvalidInput([Problem(where, "", f"not a CSV file: {err}")]) from err
    return parse_indicator_rows(rows, table, required=required, where=where)


def parse_indicator_rows(
    rows: Sequence[Sequence[str]],
    table: TableSpec,
    *,
    required: Sequence[str] = (),
    where: str = "<table>",
) -> IndicatorTable:
    """Parse table rows (header first); see `read_indicator_csv`."""
    if not rows:
        raise InvalidInput([Problem(where, "line 1", "empty file, no header")])
    header = [h.strip() for h in rows[0]]
    problems: list[Problem] = []
    if table.id_column not in header:
        problems.append(Problem(where, "line 1", f"no id column {table.id_column!r}"))
    missing_cols = [c for c in required if c not in header]
    if missing_cols:
        problems.append(Problem(where, "line 1", f"missing columns: {', '.join(missing_cols)}"))
    if problems:
        raise InvalidInput(problems)
    id_col = header.index(table.id_column)
    name_col = header.index(table.name_column) if table.name_column in header else None
    wanted = {c: header.index(c) for c in (required or header) if c in header}
    wanted.pop(table.id_column, None)
    missing_marks = set(table.missing)
    body = rows[1 + table.skip_rows :]
    data = {c: np.full(len(body), math.nan) for c in wanted}
    ids: list[str] = []
    names: list[str] = []
    for r, row in enumerate(body):
        line = r + 2 + table.skip_rows
        if len(row) < len(header):
            problems.append(
                Problem(where, f"line {line}", f"{len(row)} fields, header has {len(header)}")
            )
            continue
        ids.append(row[id_col].strip())
        names.append(row[name_col] if name_col is not None else "")
        for col, j in wanted.items():
            cell = row[j].strip()
            if cell in missing_marks:
                continue
            try:
                data[col][r] = float(cell)
            except ValueError:
                problems.append(
                    Problem(where, f"line {line}", f"column {col}: not a number: {cell!r}")
                )
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        problems.append(
            Problem(where, table.id_column, f"duplicate region ids: {', '.join(dup[:5])}")
        )
    if problems:
        raise InvalidInput(problems)
    return IndicatorTable(tuple(ids), tuple(names), data)


def format_value(v: float) -> str:
    """A float as the shortest text that reads back to it; empty for missing."""
    if math.isnan(v):
        return ""
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def write_table_csv(path: str | Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Write a CSV file (header, then rows)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def write_rows_csv(
    path: str | Path, header: Sequence[str], rows: Sequence[Sequence[str | float]]
) -> None:
    """Write rows to CSV, floats as their shortest exact text, missing as empty."""
    write_table_csv(
        path,
        header,
        [[format_value(c) if isinstance(c, float) else str(c) for c in row] for row in rows],
    )


class PerturbYaml(_Strict):
    """One perturbation of a scenario file."""

    target: str
    op: AdjustOp = AdjustOp.ADD
    amount: float
    regions: list[str] = []
    within: list[str] = []
    clip: tuple[float, float] | None = None


class DemandYaml(_Strict):
    """A change of a sector's demand-side perturbation."""

    sector: str
    amount: float


class AssetYaml(_Strict):
    """An asset and what it needs: `depends_on` (all needed) and/or `requires` (groups of
    alternatives, one of each group needed)."""

    code: str
    region: str = ""
    depends_on: list[str] = []
    requires: list[list[str]] = []


class SectorsYaml(_Strict):
    """Interdependent sectors for the IIM."""

    names: list[str] = Field(min_length=1)
    a_star: list[list[float]]
    c_star: list[float] | None = None


class ScenarioYaml(_Strict):
    """A scenario file."""

    name: str = "scenario"
    perturb: list[PerturbYaml] = []
    fail_assets: list[str] = []
    demand: list[DemandYaml] = []
    assets: list[AssetYaml] = []
    sectors: SectorsYaml | None = None


@dataclass(frozen=True)
class ScenarioFile:
    """A validated scenario with the asset graph and sectors it brings."""

    scenario: Scenario
    requirements: dict[str, tuple[tuple[str, ...], ...]]
    asset_regions: dict[str, str]
    sectors: SectorSystem | None


def load_scenario(path: str | Path) -> ScenarioFile:
    """Read and validate a scenario YAML file (errors name file, path and reason)."""
    where = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise InvalidConfig([Problem(where, "", f"cannot read: {err.strerror}")]) from err
    except yaml.YAMLError as err:
        raise InvalidConfig([Problem(where, "", f"invalid YAML: {err}")]) from err
    return scenario_from_mapping(data, where=where)


def scenario_from_mapping(data: Any, *, where: str = "<scenario>") -> ScenarioFile:
    """Validate a scenario given as parsed data."""
    try:
        spec = ScenarioYaml.model_validate(data)
    except ValidationError as err:
        raise InvalidConfig(
            [Problem(where, _loc(e["loc"], data), e["msg"]) for e in err.errors(include_url=False)]
        ) from err
    problems: list[Problem] = []
    requirements = {
        a.code: tuple((d,) for d in a.depends_on) + tuple(tuple(g) for g in a.requires)
        for a in spec.assets
    }
    known = set(requirements) | {s for gs in requirements.values() for g in gs for s in g}
    for name in spec.fail_assets:
        if spec.assets and name not in known:
            problems.append(Problem(where, "fail_assets", f"unknown asset {name!r}"))
    sectors = None
    if spec.sectors is not None:
        n = len(spec.sectors.names)
        a = np.array(spec.sectors.a_star, dtype=np.float64)
        c = np.zeros(n) if spec.sectors.c_star is None else np.array(spec.sectors.c_star)
        if a.shape != (n, n) or c.shape != (n,):
            problems.append(Problem(where, "sectors", f"a_star must be {n}×{n}, c_star {n} long"))
        else:
            sectors = SectorSystem(tuple(spec.sectors.names), a, c)
    if problems:
        raise InvalidConfig(problems)
    scenario = Scenario(
        name=spec.name,
        perturbations=tuple(
            Perturbation(
                p.target, p.op, p.amount, RegionSelector(tuple(p.regions), tuple(p.within)), p.clip
            )
            for p in spec.perturb
        ),
        failed_assets=tuple(spec.fail_assets),
        demand_changes=tuple(DemandChange(d.sector, d.amount) for d in spec.demand),
    )
    return ScenarioFile(
        scenario, requirements, {a.code: a.region for a in spec.assets if a.region}, sectors
    )
