"""Report types from YAML: `reports.yaml` in the configuration directory, else the packaged
defaults (`tocsin/defaults/report_types.yaml`, those whose domain the catalogue has); every
problem of a configured file is listed (InvalidConfig)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tocsin.adapters.config_errors import parse_text, read_document, validation_problems
from tocsin.core.catalog import Catalog
from tocsin.core.errors import InvalidConfig, Problem
from tocsin.core.levels import Level
from tocsin.core.report_types import (
    AttributeValue,
    ClusterAction,
    ClusterRule,
    Datatype,
    ReportAttribute,
    ReportType,
)

FILE = "reports.yaml"
Code = str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ValueSpec(_Strict):
    """One choice of a list attribute."""

    key: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=256)


class AttributeSpec(_Strict):
    """One question of a report type."""

    code: str = Field(pattern=r"^[A-Za-z0-9_]{1,64}$")
    datatype: Datatype
    description: str = Field(min_length=1, max_length=1_000)
    required: bool = False
    variable: bool = True
    values: list[ValueSpec] = Field(default=[], max_length=100)


class RuleSpec(_Strict):
    """A cluster rule."""

    min_reports: int = Field(ge=1, le=100_000)
    level: Level | None = None  # needed to raise a warning, none to attach to an incident
    action: ClusterAction = ClusterAction.RAISE_WARNING


class TypeSpec(_Strict):
    """One report type."""

    code: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    name: str = Field(min_length=1, max_length=256)
    domain: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=2_000)
    keywords: list[str] = Field(default=[], max_length=20)
    group: str = Field(default="", max_length=64)
    cluster_distance_m: float = Field(default=250.0, gt=0, le=100_000)
    cluster_window_s: int = Field(default=3_600, ge=60, le=30 * 86_400)
    cluster_rules: list[RuleSpec] = Field(default=[], max_length=8)
    attributes: list[AttributeSpec] = Field(default=[], max_length=50)


class ReportTypesFile(_Strict):
    """The file."""

    report_types: list[TypeSpec] = Field(min_length=1, max_length=500)


def _report_type(spec: TypeSpec) -> ReportType:
    attributes = tuple(
        ReportAttribute(
            code=a.code,
            datatype=a.datatype,
            description=a.description,
            order=i + 1,
            required=a.required,
            variable=a.variable,
            values=tuple(AttributeValue(v.key, v.name) for v in a.values),
        )
        for i, a in enumerate(spec.attributes)
    )
    rules = tuple(ClusterRule(r.min_reports, r.level, r.action) for r in spec.cluster_rules)
    fields = spec.model_dump(exclude={"attributes", "cluster_rules", "keywords"})
    return ReportType(
        **fields, keywords=tuple(spec.keywords), attributes=attributes, cluster_rules=rules
    )


def _cross_problems(parsed: ReportTypesFile, catalog: Catalog, where: str) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for spec in parsed.report_types:
        at = f"report_types[{spec.code}]"
        if spec.code in seen:
            problems.append(Problem(where, f"{at}.code", f"duplicate code {spec.code!r}"))
        seen.add(spec.code)
        if spec.domain not in catalog.domains:
            problems.append(Problem(where, f"{at}.domain", f"unknown domain {spec.domain!r}"))
        problems += _rule_problems(spec, f"{at}.cluster_rules", where)
        for a in spec.attributes:
            is_list = a.datatype in (Datatype.SINGLEVALUELIST, Datatype.MULTIVALUELIST)
            if is_list != bool(a.values):
                why = "a list attribute needs values" if is_list else "values only for lists"
                problems.append(Problem(where, f"{at}.attributes[{a.code}]", why))
    return problems


RULE_NEEDS = {  # what each action needs of `level`: (must be set, the reason when it is not so)
    ClusterAction.RAISE_WARNING: (True, "raising a warning needs a level"),
    ClusterAction.ATTACH_INCIDENT: (False, "attaching to an incident takes no level"),
}


def _rule_problems(spec: TypeSpec, at: str, where: str) -> list[Problem]:
    """A rule's level as its action needs it, and at most one attach rule per type."""
    problems = []
    for i, rule in enumerate(spec.cluster_rules):
        needed, why = RULE_NEEDS[rule.action]
        if (rule.level is not None) != needed:
            problems.append(Problem(where, f"{at}[{i}]", why))
    attach = [r for r in spec.cluster_rules if r.action is ClusterAction.ATTACH_INCIDENT]
    if len(attach) > 1:
        problems.append(Problem(where, at, "at most one attach_incident rule"))
    return problems


def load_report_types(directory: Path | None, catalog: Catalog) -> dict[str, ReportType]:
    """The report types by code; InvalidConfig listing every problem."""
    problems: list[Problem] = []
    path = directory / FILE if directory is not None else None
    data: Any
    if path is not None and path.exists():
        where = str(path)
        data = read_document(path, problems)
    else:
        packaged = resources.files("tocsin.defaults") / "report_types.yaml"
        where = "tocsin/defaults/report_types.yaml"
        data = parse_text(packaged.read_text(encoding="utf-8"), where, problems)
    if problems:
        raise InvalidConfig(problems)
    try:
        parsed = ReportTypesFile.model_validate(data)
    except ValidationError as err:
        raise InvalidConfig(
            validation_problems(err, where, data=data, model=ReportTypesFile)
        ) from None
    if path is None or not path.exists():  # the defaults: those whose domain is configured
        known = [s for s in parsed.report_types if s.domain in catalog.domains]
        parsed = ReportTypesFile.model_construct(report_types=known)
    problems = _cross_problems(parsed, catalog, where)
    if problems:
        raise InvalidConfig(problems)
    return {s.code: _report_type(s) for s in parsed.report_types}
