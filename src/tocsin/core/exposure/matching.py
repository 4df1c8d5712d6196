"""Does an asset's software match an advisory? CPE name matching and version ranges.

CPE names are compared attribute by attribute as NISTIR 7696 (CPE Name Matching) sets out: a
criterion's value relates to the installed value as SUPERSET, EQUAL, SUBSET or DISJOINT, and the
installed product matches when every attribute is SUPERSET or EQUAL. ANY (`*`) in the criterion
is a superset of anything; NA (`-`) equals only NA; a specific value in the criterion against ANY
in the inventory is a SUBSET (the inventory does not say), so no match. A version range
(`versionStartIncluding` …) applies to the installed version when the criterion's version is ANY;
an installed version of ANY or NA never falls in a range. OSV ranges follow the OSV schema: a
version is affected from an `introduced` event up to (not including) the next `fixed`, or up to
and including a `last_affected`. Versions are ordered by a `VersionOrder` given by the caller
(per package type), since the core knows no ecosystem's rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from tocsin.core.exposure.advisories import (
    Advisory,
    AffectedPackage,
    Configuration,
    CpeCriterion,
    CpeNode,
    Operator,
    VersionEvent,
)
from tocsin.core.exposure.software import ANY, ATTRIBUTES, NA, Cpe, Package, Software

VERSION = ATTRIBUTES.index("version")
CPE_SCHEME = "cpe"  # the ordering used for CPE versions (the caller decides what it is)


# how the installed version must compare with each bound: start incl./excl., end incl./excl.
BOUND_CHECKS: tuple[Callable[[int], bool], ...] = (
    lambda c: c >= 0,
    lambda c: c > 0,
    lambda c: c <= 0,
    lambda c: c < 0,
)


class VersionOrder(Protocol):
    """Orders two versions of one scheme (a purl type, or "cpe"): <0, 0 or >0."""

    def compare(self, left: str, right: str, *, scheme: str) -> int:
        """Negative when left < right, zero when equal, positive when left > right."""


@dataclass(frozen=True, slots=True)
class Match:
    """An advisory that applies to an asset, and which installed names it applies through."""

    advisory: Advisory
    software: tuple[str, ...]


@cache
def _pattern(value: str) -> re.Pattern[str]:
    """A criterion value with wildcards as a regular expression over quoted values."""
    body = value.lstrip("*?")
    lead = value[: len(value) - len(body)]
    trail_len = len(body) - len(body.rstrip("*?"))
    if trail_len and body[-trail_len - 1 : -trail_len] == "\\":
        trail_len -= 1
    core = body[: len(body) - trail_len]
    trail = body[len(core) :]

    def wild(part: str) -> str:
        return ".*" if part == "*" else "." * len(part)

    return re.compile(
        f"^{wild(lead) if lead else ''}{re.escape(core)}{wild(trail) if trail else ''}$"
    )


def attribute_matches(criterion: str, installed: str) -> bool:
    """True when the criterion's value is a superset of, or equal to, the installed value."""
    if criterion == ANY:
        return True
    if criterion == NA or installed in (ANY, NA):
        return criterion == installed
    if criterion[0] in "*?" or criterion[-1] in "*?":
        return _pattern(criterion).match(installed) is not None
    return criterion == installed


def in_range(criterion: CpeCriterion, version: str, *, order: VersionOrder) -> bool:
    """True when the installed version satisfies every bound of the criterion."""
    if version in (ANY, NA):
        return False
    bounds = (
        criterion.start_including,
        criterion.start_excluding,
        criterion.end_including,
        criterion.end_excluding,
    )
    return all(
        ok(order.compare(version, bound, scheme=CPE_SCHEME))
        for bound, ok in zip(bounds, BOUND_CHECKS, strict=True)
        if bound is not None
    )


def cpe_matches(criterion: CpeCriterion, installed: Cpe, *, order: VersionOrder) -> bool:
    """True when the installed product is an instance of the criterion (name and version)."""
    for i, (want, have) in enumerate(zip(criterion.criteria.values, installed.values, strict=True)):
        if i == VERSION and criterion.has_range and want == ANY:
            if not in_range(criterion, have, order=order):
                return False
        elif not attribute_matches(want, have):
            return False
    return True


def _node(node: CpeNode, cpes: Sequence[Cpe], *, order: VersionOrder) -> tuple[bool, set[str]]:
    """Whether the node holds on these names, and the vulnerable names it holds through."""
    hits = [[c for c in cpes if cpe_matches(k, c, order=order)] for k in node.criteria]
    holds = all(hits) if node.operator is Operator.AND else any(hits)
    if node.negate:
        return not holds, set()
    through = {str(c) for k, h in zip(node.criteria, hits, strict=True) if k.vulnerable for c in h}
    return holds, through


def _configuration(
    config: Configuration, cpes: Sequence[Cpe], *, order: VersionOrder
) -> set[str] | None:
    results = [_node(n, cpes, order=order) for n in config.nodes]
    combine = all if config.operator is Operator.AND else any
    if not results or not combine(holds for holds, _ in results):
        return None
    through = set().union(*(t for holds, t in results if holds))
    return through or None


def _ordered(
    events: Sequence[VersionEvent], version: str, *, kind: str, order: VersionOrder
) -> bool:
    """True when the version is affected by one OSV range (introduced/fixed/last_affected)."""
    starts = [e.version for e in events if e.kind == "introduced"]
    fixed = [e.version for e in events if e.kind == "fixed"]
    last = [e.version for e in events if e.kind == "last_affected"]

    def cmp(a: str, b: str) -> int:
        return order.compare(a, b, scheme=kind)

    def after_start(start: str, other: str) -> bool:
        return start == "0" or cmp(start, other) <= 0  # "0": from the first version on

    for start in starts:
        if start != "0" and cmp(version, start) < 0:
            continue
        closed_by_fix = any(after_start(start, f) and cmp(f, version) <= 0 for f in fixed)
        closed_by_last = any(after_start(start, la) and cmp(la, version) < 0 for la in last)
        if not (closed_by_fix or closed_by_last):
            return True
    return False


def _norm(kind: str, text: str) -> str:
    """A package name as compared: lower case; PyPI runs of -_. as one - (PEP 503)."""
    lowered = text.lower()
    return re.sub(r"[-_.]+", "-", lowered) if kind == "pypi" else lowered


def _same_package(affected: AffectedPackage, package: Package) -> bool:
    return (
        affected.type == package.type
        and _norm(package.type, affected.namespace) == _norm(package.type, package.namespace)
        and _norm(package.type, affected.name) == _norm(package.type, package.name)
    )


Key = tuple[str, str, str]


def software_keys(software: Software) -> tuple[Key, ...]:
    """The keys an installed name can be matched through: (cpe, vendor, product) and
    (cpe, vendor, "") for any product of the vendor; a package's type, namespace and name."""
    if isinstance(software, Cpe):
        vendor = software.values[1]
        return (("cpe", vendor, software.values[2]), ("cpe", vendor, ""))
    kind = software.type
    return ((kind, _norm(kind, software.namespace), _norm(kind, software.name)),)


def _wild(value: str) -> bool:
    return value == ANY or value[0] in "*?" or value[-1] in "*?"


def advisory_keys(advisory: Advisory) -> frozenset[Key] | None:
    """The keys an installed name must have for the advisory to match it through a vulnerable
    criterion or an affected package (a product that is ANY or has wildcards: the vendor's key);
    None when a criterion's vendor is ANY or has wildcards (every name must then be tried)."""
    keys: set[Key] = set()
    for config in advisory.configurations:
        for node in config.nodes:
            for c in node.criteria:
                vendor, product = c.criteria.values[1], c.criteria.values[2]
                if not c.vulnerable:
                    continue
                if _wild(vendor):
                    return None
                keys.add(("cpe", vendor, "" if _wild(product) else product))
    for p in advisory.packages:
        keys.add((p.type, _norm(p.type, p.namespace), _norm(p.type, p.name)))
    return frozenset(keys)


def package_matches(affected: AffectedPackage, package: Package, *, order: VersionOrder) -> bool:
    """True when the installed package is one of the affected versions."""
    if not _same_package(affected, package) or package.version is None:
        return False
    if package.version in affected.versions:
        return True
    return any(
        _ordered(r, package.version, kind=package.type, order=order) for r in affected.ranges
    )


def match(advisory: Advisory, software: Sequence[Software], *, order: VersionOrder) -> Match | None:
    """The match of one advisory on one asset's software, or None."""
    cpes = [s for s in software if isinstance(s, Cpe)]
    through: set[str] = set()
    for config in advisory.configurations:
        through |= _configuration(config, cpes, order=order) or set()
    for affected in advisory.packages:
        through |= {
            str(p)
            for p in software
            if isinstance(p, Package) and package_matches(affected, p, order=order)
        }
    return Match(advisory, tuple(sorted(through))) if through else None
