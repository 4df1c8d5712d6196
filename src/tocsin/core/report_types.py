"""Report types: the Open311 "services" a member of the public can report, each mapped to a
hazard domain, with its attributes (questions) and how its reports cluster."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from tocsin.core.errors import Problem
from tocsin.core.levels import Level

MAX_VALUE_CHARS = 1_000


class Datatype(StrEnum):
    """An attribute's datatype (GeoReport v2)."""

    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"
    TEXT = "text"
    SINGLEVALUELIST = "singlevaluelist"
    MULTIVALUELIST = "multivaluelist"


@dataclass(frozen=True, slots=True)
class AttributeValue:
    """One choice of a list attribute."""

    key: str
    name: str


@dataclass(frozen=True, slots=True)
class ReportAttribute:
    """A question a report type asks (GeoReport v2 service definition attribute)."""

    code: str
    datatype: Datatype
    description: str
    order: int
    required: bool = False
    variable: bool = True
    values: tuple[AttributeValue, ...] = ()


class ClusterAction(StrEnum):
    """What a cluster that meets a rule does."""

    RAISE_WARNING = "raise_warning"  # a warning at the rule's level (the default)
    ATTACH_INCIDENT = "attach_incident"  # join the open incident of its region and domain


@dataclass(frozen=True, slots=True)
class ClusterRule:
    """At `min_reports` related reports in one cluster: raise a warning at `level`, or attach
    the cluster to an open incident (`action`)."""

    min_reports: int
    level: Level | None = None
    action: ClusterAction = ClusterAction.RAISE_WARNING


@dataclass(frozen=True, slots=True)
class ReportType:
    """A kind of hazard the public can report."""

    code: str
    name: str
    domain: str
    description: str = ""
    keywords: tuple[str, ...] = ()
    group: str = ""  # reports of one group cluster together (default: the type's own code)
    attributes: tuple[ReportAttribute, ...] = ()
    cluster_distance_m: float = 250.0
    cluster_window_s: int = 3_600
    cluster_rules: tuple[ClusterRule, ...] = ()

    @property
    def cluster_group(self) -> str:
        """The group its reports cluster in."""
        return self.group or self.code

    def level_for(self, reports: int) -> Level | None:
        """The highest level whose rule a cluster of `reports` meets (None: none)."""
        met = [r.level for r in self.cluster_rules if r.level and reports >= r.min_reports]
        return max(met, key=lambda lv: lv.rank) if met else None

    def attaches(self, reports: int) -> bool:
        """Whether a cluster of `reports` meets an attach-to-incident rule."""
        return any(
            r.action is ClusterAction.ATTACH_INCIDENT and reports >= r.min_reports
            for r in self.cluster_rules
        )


def _number(raw: str) -> str | None:
    try:
        value = float(raw)
    except ValueError:
        return "not a number"
    return None if value == value and abs(value) != float("inf") else "not a finite number"


def _datetime(raw: str) -> str | None:
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return "not an ISO 8601 date-time"
    return None if parsed.tzinfo is not None else "a date-time needs its offset (Z or ±HH:MM)"


def _choice(attribute: ReportAttribute, values: Sequence[str]) -> str | None:
    keys = {v.key for v in attribute.values}
    wrong = [v for v in values if v not in keys]
    return f"not one of {sorted(keys)}: {wrong}" if wrong else None


def _value_problem(attribute: ReportAttribute, values: Sequence[str]) -> str | None:
    """Why the submitted values do not fit the attribute (None: they do)."""
    if any(len(v) > MAX_VALUE_CHARS for v in values):
        return f"a value longer than {MAX_VALUE_CHARS} characters"
    if attribute.datatype is Datatype.MULTIVALUELIST:
        return _choice(attribute, values)
    if len(values) != 1:
        return "one value expected"
    checks = {
        Datatype.NUMBER: lambda: _number(values[0]),
        Datatype.DATETIME: lambda: _datetime(values[0]),
        Datatype.SINGLEVALUELIST: lambda: _choice(attribute, values),
    }
    check = checks.get(attribute.datatype)
    return check() if check is not None else None


def attribute_problems(
    report_type: ReportType, submitted: Mapping[str, Sequence[str]]
) -> tuple[dict[str, Any], list[Problem]]:
    """The submitted attributes checked against the type's questions: their values (lists for
    multivaluelist, else one string) and every problem."""
    by_code = {a.code: a for a in report_type.attributes if a.variable}
    problems: list[Problem] = []
    out: dict[str, Any] = {}
    for code, given in submitted.items():
        if code not in by_code and any(v != "" for v in given):  # empty counts as absent
            problems.append(Problem("form", f"attribute[{code}]", "no such attribute"))
    for code, attribute in by_code.items():
        values = [v for v in submitted.get(code, ()) if v != ""]
        if not values:
            if attribute.required:
                problems.append(Problem("form", f"attribute[{code}]", "required"))
            continue
        why = _value_problem(attribute, values)
        if why is not None:
            problems.append(Problem("form", f"attribute[{code}]", why))
            continue
        multi = attribute.datatype is Datatype.MULTIVALUELIST
        out[code] = list(values) if multi else values[0]
    return out, problems
