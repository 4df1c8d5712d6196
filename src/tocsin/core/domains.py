"""Domains: the hazard taxonomy, each node mapped to a CAP 1.2 `category`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

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


@dataclass(frozen=True, slots=True)
class Domain:
    """One node of the hazard taxonomy."""

    code: DomainCode
    name: str
    cap_category: str
    parent: DomainCode | None = None
