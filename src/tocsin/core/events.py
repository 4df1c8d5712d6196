"""Events: discrete occurrences with a place, a domain and a severity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tocsin.core.domains import DomainCode
from tocsin.core.levels import Level
from tocsin.core.regions import RegionCode


@dataclass(frozen=True, slots=True)
class Event:
    """An incident report, an imported CAP alert, a cyber-security alert or a citizen report."""

    source: str
    external_id: str
    occurred_at: datetime
    region: RegionCode
    domain: DomainCode
    severity: Level
    title: str
    description: str = ""
    asset: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
