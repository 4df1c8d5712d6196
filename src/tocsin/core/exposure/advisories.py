"""Vulnerability advisories as the feeds state them, and the warning level an exposure earns.

An advisory comes from one feed: the NVD (CVE JSON 2.0: CVSS and CPE applicability
configurations), OSV (affected packages with version ranges) or the CISA catalogue of Known
Exploited Vulnerabilities (KEV: exploited, with the date by which the catalogue requires action).
Records of the same vulnerability from several feeds are joined by id and alias (`merged`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from tocsin.core.exposure.software import Cpe
from tocsin.core.levels import Level


class Feed(StrEnum):
    """Where an advisory came from."""

    NVD = "nvd"
    KEV = "kev"
    OSV = "osv"


class Severity(StrEnum):
    """CVSS qualitative severity (CVSS v3.1 specification, section 5)."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"
    UNKNOWN = "unknown"


class Operator(StrEnum):
    """How the parts of an applicability statement combine."""

    AND = "and"
    OR = "or"


@dataclass(frozen=True, slots=True)
class CpeCriterion:
    """One NVD `cpeMatch`: a CPE name (maybe with wildcards) and an optional version range."""

    criteria: Cpe
    vulnerable: bool = True
    start_including: str | None = None
    start_excluding: str | None = None
    end_including: str | None = None
    end_excluding: str | None = None

    @property
    def has_range(self) -> bool:
        """True when a version bound is given."""
        bounds = (self.start_including, self.start_excluding, self.end_including)
        return any(b is not None for b in (*bounds, self.end_excluding))


@dataclass(frozen=True, slots=True)
class CpeNode:
    """A list of criteria combined by an operator, maybe negated (an NVD configuration node)."""

    criteria: tuple[CpeCriterion, ...]
    operator: Operator = Operator.OR
    negate: bool = False


@dataclass(frozen=True, slots=True)
class Configuration:
    """Nodes combined by an operator: AND states "product X running on platform Y"."""

    nodes: tuple[CpeNode, ...]
    operator: Operator = Operator.OR


@dataclass(frozen=True, slots=True)
class VersionEvent:
    """An OSV range event: `introduced`, `fixed`, `last_affected` or `limit`, at a version."""

    kind: str
    version: str


@dataclass(frozen=True, slots=True)
class AffectedPackage:
    """An OSV `affected` entry: a package (as purl type, namespace and name) and its versions."""

    type: str
    namespace: str
    name: str
    ranges: tuple[tuple[VersionEvent, ...], ...] = ()
    versions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Advisory:
    """One vulnerability as one feed describes it."""

    id: str
    feed: Feed
    title: str = ""
    aliases: tuple[str, ...] = ()
    cvss_score: float | None = None
    severity: Severity = Severity.UNKNOWN
    configurations: tuple[Configuration, ...] = ()
    packages: tuple[AffectedPackage, ...] = ()
    known_exploited: bool = False
    due_on: date | None = None
    required_action: str = ""


# (severity, known exploited) -> level; exploitation in the wild raises the level one step
LEVELS: Mapping[tuple[Severity, bool], Level] = {
    (Severity.CRITICAL, True): Level.RED,
    (Severity.HIGH, True): Level.RED,
    (Severity.MEDIUM, True): Level.ORANGE,
    (Severity.LOW, True): Level.ORANGE,
    (Severity.NONE, True): Level.ORANGE,
    (Severity.UNKNOWN, True): Level.ORANGE,
    (Severity.CRITICAL, False): Level.ORANGE,
    (Severity.HIGH, False): Level.YELLOW,
    (Severity.MEDIUM, False): Level.BLUE,
    (Severity.LOW, False): Level.BLUE,
    (Severity.NONE, False): Level.BLUE,
    (Severity.UNKNOWN, False): Level.BLUE,
}

_SEVERITY_FLOORS = (
    (9.0, Severity.CRITICAL),
    (7.0, Severity.HIGH),
    (4.0, Severity.MEDIUM),
    (0.1, Severity.LOW),
    (0.0, Severity.NONE),
)


def level_of(advisory: Advisory) -> Level:
    """The warning level of an exposure to this advisory."""
    return LEVELS[(advisory.severity, advisory.known_exploited)]


def severity_of(score: float) -> Severity:
    """The CVSS v3 qualitative rating of a base score (0.0-10.0)."""
    return next(s for floor, s in _SEVERITY_FLOORS if score >= floor)


def merged(advisories: Iterable[Advisory]) -> list[Advisory]:
    """NVD and OSV advisories, each marked exploited (with KEV's due date and action) when the
    catalogue lists its id or one of its aliases; a missing score is taken from another feed's
    record of the same id. KEV records are not returned: they name no product to match."""
    items = list(advisories)
    kev = {a.id: a for a in items if a.feed is Feed.KEV}
    scored = {a.id: a for a in items if a.cvss_score is not None}
    out: list[Advisory] = []
    for a in items:
        if a.feed is Feed.KEV:
            continue
        names = (a.id, *a.aliases)
        listed = next((kev[n] for n in names if n in kev), None)
        if listed is not None:
            a = replace(
                a,
                known_exploited=True,
                due_on=listed.due_on,
                required_action=listed.required_action,
            )
        if a.cvss_score is None:
            other = next((scored[n] for n in names if n in scored), None)
            if other is not None:
                a = replace(a, cvss_score=other.cvss_score, severity=other.severity)
        out.append(a)
    return out
