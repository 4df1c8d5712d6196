"""Domains: the hazard taxonomy, each node mapped to a CAP 1.2 `category`."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import NewType

from tocsin.core.errors import InvalidInput, Problem

DomainCode = NewType("DomainCode", str)

CAP_CATEGORIES: frozenset[str] = frozenset(
    {
        "Geo",
        "Met",
        "Safety",
        "Security",
        "Rescue",
        "Fire",
        "Health",
        "Env",
        "Transport",
        "Infra",
        "CBRNE",
        "Other",
    }
)


def is_domain_within(domain: str, prefix: str) -> bool:
    """True when `domain` is `prefix` or a sub-domain of it (dotted codes, e.g. natural.flood)."""
    return domain == prefix or domain.startswith(prefix + ".")


@dataclass(frozen=True, slots=True)
class Domain:
    """One node of the hazard taxonomy."""

    code: DomainCode
    name: str
    cap_category: str
    parent: DomainCode | None = None


def parse_domains(
    values: Iterable[str], known: Collection[str], *, where: str = "domain"
) -> tuple[DomainCode, ...]:
    """Domain codes from names, each value possibly a comma-separated list; unknown rejected.

    >>> parse_domains(["fire,natural"], {"fire", "natural", "natural.flood"})
    ('fire', 'natural')
    """
    out: list[DomainCode] = []
    problems: list[Problem] = []
    for value in values:
        for code in (part.strip() for part in value.split(",")):
            if code not in known:
                allowed = ", ".join(sorted(known))
                problems.append(
                    Problem(where, "domain", f"unknown domain {code!r} (one of {allowed})")
                )
            elif code not in out:
                out.append(DomainCode(code))
    if problems:
        raise InvalidInput(problems)
    return tuple(out)
