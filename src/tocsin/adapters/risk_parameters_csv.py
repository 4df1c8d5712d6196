"""Node parameters from a table: bounds, directions, names … of many nodes from one CSV.

Published indices keep their indicators' parameters in a table (ND-GAIN's minimum, maximum and
direction per indicator, INFORM's MIN/MAX rows). A model's `parameters:` section names such a file
(relative to the model file), the column holding the node id (`key`), and which node field each
column fills (`fields`, dotted paths such as `normalise.lower`); `values` recodes cells (`1` →
`ascending`). The cells fill the model's node mappings *before* validation, so every check applies
to them and a problem names the file, the line and the column the value came from.

Precedence: a field the node writes itself may not also come from a table (which one is meant
would be a guess); a table value wins over `defaults`.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tocsin.adapters.risk_tables_csv import read_csv_rows
from tocsin.core.errors import InvalidInput, Problem

NODE_FIELDS = frozenset(
    {"name", "expr", "aggregate", "normalise", "cases", "round", "floor", "cap", "publish", "meta"}
)
WEIGHT = "weight"
"""The field that sets the row's id's weight in every aggregate that lists it as a child."""


class ParameterTableYaml(BaseModel):
    """One entry of `parameters:`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = Field(min_length=1)
    key: str = Field(min_length=1)
    fields: dict[str, str] = Field(min_length=1)
    values: dict[str, dict[str | int | float | bool, Any]] = {}
    unmatched: Literal["error", "ignore"] = "error"


@dataclass
class Provenance:
    """Where table values came from: (node index, field path) → "file line N, column C"."""

    cells: dict[tuple[int, tuple[str, ...]], str] = field(default_factory=dict)

    def of(self, loc: tuple[int | str, ...]) -> str | None:
        """The source of the value at a validation error's location, if a table gave it."""
        if len(loc) < 3 or loc[0] != "nodes" or not isinstance(loc[1], int):
            return None
        path = tuple(str(p) for p in loc[2:] if p not in ("str", "ChildYaml"))
        return self.cells.get((loc[1], path))


def apply_tables(
    data: MutableMapping[str, Any],
    tables: list[ParameterTableYaml],
    *,
    base: Path | None,
    where: str,
) -> tuple[list[Problem], Provenance]:
    """Fill the node mappings of `data` (in place) from the parameter tables."""
    problems: list[Problem] = []
    provenance = Provenance()
    nodes = data.get("nodes")
    if not isinstance(nodes, list):
        return problems, provenance
    index = {n.get("id"): i for i, n in enumerate(nodes) if isinstance(n, Mapping)}
    for t, spec in enumerate(tables):
        path = Path(spec.file)
        if base is not None and not path.is_absolute():
            path = base / path
        try:
            rows = read_csv_rows(path)
        except InvalidInput as err:
            problems.extend(Problem(where, f"parameters[{t}].file", str(p)) for p in err.problems)
            continue
        problems.extend(
            _apply_one(spec, rows, nodes=nodes, index=index, file=str(path), provenance=provenance)
        )
    return problems, provenance


def _columns(spec: ParameterTableYaml, header: list[str], file: str) -> list[Problem]:
    problems = [
        Problem(file, "line 1", f"no column {c!r} (parameters: {what})")
        for what, c in [("key", spec.key), *((f"fields.{f}", c) for f, c in spec.fields.items())]
        if c not in header
    ]
    problems.extend(
        Problem(file, f"fields.{f}", f"{f.split('.')[0]!r} is not a node field")
        for f in spec.fields
        if f.split(".")[0] not in NODE_FIELDS and f != WEIGHT
    )
    return problems


def _apply_one(
    spec: ParameterTableYaml,
    rows: list[list[str]],
    *,
    nodes: list[Any],
    index: Mapping[Any, int],
    file: str,
    provenance: Provenance,
) -> list[Problem]:
    header = [h.strip() for h in rows[0]] if rows else []
    problems = _columns(spec, header, file)
    if problems:
        return problems
    key_col = header.index(spec.key)
    seen: set[str] = set()
    for line, row in enumerate(rows[1:], start=2):
        key = row[key_col].strip() if key_col < len(row) else ""
        if not key:
            continue
        if key in seen:
            problems.append(Problem(file, f"line {line}", f"second row for {key!r}"))
        seen.add(key)
        weights = {f: c for f, c in spec.fields.items() if f == WEIGHT}
        at = _Row(header, row, key, nodes, file, line)
        problems.extend(_apply_row(spec, weights, at, provenance=provenance))
        if key not in index:
            if spec.unmatched == "error" and not weights:
                problems.append(Problem(file, f"line {line}", f"no node {key!r} in the model"))
            continue
        fields = {f: c for f, c in spec.fields.items() if f != WEIGHT}
        problems.extend(_apply_row(spec, fields, at, provenance=provenance, at_node=index[key]))
    return problems


@dataclass(frozen=True)
class _Row:
    """One row of a parameter table, where it is, and the model's nodes it fills."""

    header: list[str]
    row: list[str]
    key: str
    nodes: list[Any]
    file: str
    line: int


def _apply_row(
    spec: ParameterTableYaml,
    fields: Mapping[str, str],
    at: _Row,
    *,
    provenance: Provenance,
    at_node: int | None = None,
) -> list[Problem]:
    """One row's cells into the node `at_node` (or, for `weight`, its parents' child lists)."""
    problems: list[Problem] = []
    recode = {f: {str(k): v for k, v in m.items()} for f, m in spec.values.items()}
    for dotted, column in fields.items():
        j = at.header.index(column)
        cell = at.row[j].strip() if j < len(at.row) else ""
        if not cell:
            continue
        value = recode.get(dotted, {}).get(cell, cell)
        where = f"line {at.line}, column {column!r}"
        if dotted == WEIGHT:
            problem, places = _put_weight(at.nodes, at.key, value)
        else:
            assert at_node is not None  # noqa: S101 - node fields need the row's node
            problem = _put(at.nodes[at_node], dotted.split("."), value)
            places = [(at_node, tuple(dotted.split(".")))]
        if problem:
            problems.append(Problem(at.file, where, problem))
        for place in places:
            provenance.cells[place] = f"{at.file} {where}"
    return problems


def _put_weight(nodes: list[Any], key: str, value: Any) -> tuple[str | None, list[Any]]:
    """Set `key`'s weight in every aggregate listing it; a problem's text and the places set."""
    places: list[Any] = []
    for p, node in enumerate(nodes):
        agg = node.get("aggregate") if isinstance(node, Mapping) else None
        if not isinstance(agg, MutableMapping) or not isinstance(agg.get("children"), list):
            continue
        kids = agg["children"]
        for c, kid in enumerate(kids):
            kid_id = kid.get("id") if isinstance(kid, Mapping) else kid
            if kid_id != key:
                continue
            if "weights" in agg or (isinstance(kid, Mapping) and "weight" in kid):
                return f"{node.get('id')!r} gives the weight of {key!r} itself", places
            kids[c] = (
                {**kid, "weight": value}
                if isinstance(kid, Mapping)
                else {"id": key, "weight": value}
            )
            places.append((p, ("aggregate", "children", str(c), "weight")))
    if not places:
        return f"no aggregate reads {key!r}: its weight applies nowhere", places
    return None, places


def _put(node: Any, parts: list[str], value: Any) -> str | None:
    """Set node[parts…] = value, creating mappings on the way; a problem's text, or None."""
    target = node
    for part in parts[:-1]:
        if part not in target:
            target[part] = {}
        target = target[part]
        if not isinstance(target, MutableMapping):
            return f"{'.'.join(parts)}: the node's {part!r} is not a mapping"
    if parts[-1] in target:
        return (
            f"node {node.get('id')!r} gives {'.'.join(parts)} itself: "
            "a value may come from the model or from a table, not from both"
        )
    target[parts[-1]] = value
    return None
