"""The warning record and its events (types only; the lifecycle lives in lifecycle.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NewType

from tocsin.core.domains import DomainCode
from tocsin.core.levels import Level
from tocsin.core.regions import RegionCode

WarningId = NewType("WarningId", str)


class WarningState(StrEnum):
    """Stored state of a warning; silenced/inhibited are computed, never stored."""

    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    LIFTED = "lifted"


class CommandKind(StrEnum):
    """What can be done to a warning."""

    RAISE = "raise"
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    ACKNOWLEDGE = "acknowledge"
    LIFT = "lift"


class EventKind(StrEnum):
    """What happened to a warning (past tense)."""

    RAISED = "warning.raised"
    UPGRADED = "warning.upgraded"
    DOWNGRADED = "warning.downgraded"
    ACKNOWLEDGED = "warning.acknowledged"
    LIFTED = "warning.lifted"


def fingerprint(source: str, subject: str, region: str, domain: str) -> str:
    """A stable identity for 'the same risk': one open warning per fingerprint."""
    raw = "\x1f".join((source, subject, region, domain)).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Warning:
    """A graded warning for a (region, domain), caused by a source such as an indicator."""

    id: WarningId
    fingerprint: str
    source: str
    subject: str
    region: RegionCode
    domain: DomainCode
    level: Level
    state: WarningState
    first_seen_at: datetime
    last_seen_at: datetime
    updated_at: datetime
    cause: Mapping[str, Any] = field(default_factory=dict)
    explanation: Mapping[str, Any] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    acknowledged_by: str | None = None
    lifted_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        """True until the warning is lifted."""
        return self.state is not WarningState.LIFTED


@dataclass(frozen=True, slots=True)
class Command:
    """A request to change a warning, with who asks and why."""

    kind: CommandKind
    actor: str
    reason: str
    level: Level | None = None
    cause: Mapping[str, Any] | None = None
    explanation: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class WarningEvent:
    """One transition of one warning: the audit record everything else is built from."""

    kind: EventKind
    warning_id: WarningId
    at: datetime
    actor: str
    reason: str
    from_state: WarningState | None
    to_state: WarningState
    from_level: Level | None
    to_level: Level
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Place:
    """What a new warning is about and where, before RAISE gives it a level."""

    source: str
    subject: str
    region: RegionCode
    domain: DomainCode
    labels: Mapping[str, str] = field(default_factory=dict)


def blank_warning(warning_id: WarningId, place: Place, *, fingerprint: str) -> Warning:
    """A warning's identity and place, before RAISE gives it a level, times and a cause."""
    epoch = datetime.fromtimestamp(0, UTC)
    return Warning(
        id=warning_id,
        fingerprint=fingerprint,
        source=place.source,
        subject=place.subject,
        region=place.region,
        domain=place.domain,
        level=Level.BLUE,
        state=WarningState.ACTIVE,
        first_seen_at=epoch,
        last_seen_at=epoch,
        updated_at=epoch,
        labels=dict(place.labels),
    )
