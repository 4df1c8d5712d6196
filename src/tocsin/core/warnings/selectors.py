"""What routes, silences, inhibit rules and escalation policies match: targets and selectors.

A *target* is the read-only view of a warning that every decider works on: its labels (the
warning's own labels plus `source`, `subject`, `region`, `domain`, `level`, `asset` and `unit`),
the chain of regions from its own up to the root and the chain of its domain's ancestors. A
*selector* matches a target: a region subtree, a domain subtree, a set of levels, and label
matchers with Alertmanager's four operators (`=`, `!=`, `=~`, `!~`; regexes fully anchored and
matched in linear time by `regexes.py`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from tocsin.core.domains import is_domain_within
from tocsin.core.levels import Level
from tocsin.core.warnings.regexes import RegexError, compile_regex


class MatchOp(StrEnum):
    """A label matcher's operator."""

    EQ = "="
    NE = "!="
    RE = "=~"
    NRE = "!~"


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label condition; a missing label reads as the empty string (Alertmanager)."""

    name: str
    op: MatchOp
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when the label satisfies the condition."""
        have = labels.get(self.name, "")
        if self.op is MatchOp.EQ:
            return have == self.value
        if self.op is MatchOp.NE:
            return have != self.value
        hit = compile_regex(self.value).fullmatch(have)
        return hit if self.op is MatchOp.RE else not hit

    def __str__(self) -> str:
        """Render as `name op "value"`."""
        return f'{self.name}{self.op.value}"{self.value}"'


MAX_MATCHER = 2_000  # characters; regexes themselves are limited in regexes.py
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')


def parse_matcher(text: str) -> Matcher:
    """Parse `name=value`, `name!=value`, `name=~regex` or `name!~regex` (value may be quoted)."""
    if len(text) > MAX_MATCHER:
        raise ValueError(f"matcher longer than {MAX_MATCHER} characters")
    m = _MATCHER.match(text)
    if m is None:
        raise ValueError(f"not a matcher: {text!r} (expected name=value, !=, =~ or !~)")
    name, op, value = m.groups()
    if op in ("=~", "!~"):
        try:
            compile_regex(value)
        except RegexError as err:
            raise ValueError(f"bad regular expression: {err}") from err
    return Matcher(name, MatchOp(op), value)


@dataclass(frozen=True, slots=True)
class Target:
    """A warning as the deciders see it."""

    warning_id: str
    fingerprint: str
    level: Level
    labels: Mapping[str, str]
    regions: tuple[str, ...]  # own region first, then its ancestors up to the root
    domains: tuple[str, ...]  # own domain first, then its ancestors
    depends_on: frozenset[str] = frozenset()  # assets this warning's asset depends on (closure)

    @property
    def region(self) -> str:
        """The warning's own region."""
        return self.regions[0]

    @property
    def domain(self) -> str:
        """The warning's own domain."""
        return self.domains[0]


@dataclass(frozen=True, slots=True)
class Selector:
    """Which targets something applies to; every given condition must hold (empty = all)."""

    region: str | None = None  # the region and its subtree
    domain: str | None = None  # the domain and its sub-domains
    levels: frozenset[Level] = frozenset()
    matchers: tuple[Matcher, ...] = field(default_factory=tuple)

    def matches(self, target: Target) -> bool:
        """True when the target satisfies every condition."""
        if self.region is not None and self.region not in target.regions:
            return False
        if self.domain is not None and not (
            self.domain in target.domains or is_domain_within(target.domain, self.domain)
        ):
            return False
        if self.levels and target.level not in self.levels:
            return False
        return all(m.matches(target.labels) for m in self.matchers)

    def describe(self) -> str:
        """A short human-readable rendering."""
        parts = [str(m) for m in self.matchers]
        if self.region:
            parts.insert(0, f"region within {self.region}")
        if self.domain:
            parts.insert(0, f"domain within {self.domain}")
        if self.levels:
            parts.append("level in " + ",".join(sorted(lv.value for lv in self.levels)))
        return " and ".join(parts) or "everything"


def selector_to_json(selector: Selector) -> dict[str, object]:
    """A JSON-able form of a selector (for storage and the API)."""
    return {
        "region": selector.region,
        "domain": selector.domain,
        "levels": sorted(lv.value for lv in selector.levels),
        "matchers": [str(m) for m in selector.matchers],
    }


def selector_from_json(data: Mapping[str, object]) -> Selector:
    """Rebuild a selector from `selector_to_json` output."""
    levels = data.get("levels") or []
    matchers = data.get("matchers") or []
    region, domain = data.get("region"), data.get("domain")
    return Selector(
        region=str(region) if region else None,
        domain=str(domain) if domain else None,
        levels=frozenset(Level(str(v)) for v in levels),  # type: ignore[attr-defined]
        matchers=tuple(parse_matcher(str(m)) for m in matchers),  # type: ignore[attr-defined]
    )
