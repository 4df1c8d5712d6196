"""The incident record, its commands and events (types only; the lifecycle is lifecycle.py).

An incident is the response to a situation: it links the warnings, events, public alerts and
(later) public reports about it, has a lead unit, and carries the response level of the
emergency plan that was activated for it (I, the most severe, to IV). Its timeline is the audit
trail of the incident and of its tasks; nothing else is kept about what happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, NewType

from tocsin.core.levels import Level

IncidentId = NewType("IncidentId", str)


class IncidentState(StrEnum):
    """Stored state: opened, responding under a plan, stood down (wrapping up), closed."""

    OPEN = "open"
    ACTIVE = "active"
    STABILISED = "stabilised"
    CLOSED = "closed"


class ResponseLevel(StrEnum):
    """The response level an emergency plan sets: I is the most severe, IV the least."""

    I = "I"  # noqa: E741 - the name of the level
    II = "II"
    III = "III"
    IV = "IV"

    @property
    def rank(self) -> int:
        """4 for level I down to 1 for level IV (higher is more severe)."""
        return RESPONSE_RANKS[self]


RESPONSE_RANKS: Final[dict[ResponseLevel, int]] = {
    ResponseLevel.I: 4,
    ResponseLevel.II: 3,
    ResponseLevel.III: 2,
    ResponseLevel.IV: 1,
}


class LinkKind(StrEnum):
    """What an incident can link to (by id)."""

    WARNING = "warning"
    EVENT = "event"
    PUBLIC_ALERT = "public_alert"
    REPORT = "report"


@dataclass(frozen=True, slots=True, order=True)
class Link:
    """One linked thing: its kind and its id."""

    kind: LinkKind
    ref: str


class IncidentCommandKind(StrEnum):
    """What can be done to an incident."""

    OPEN = "open"
    ACTIVATE = "activate"  # a plan (at a level) is activated: tasks go out
    UPGRADE = "upgrade"  # the plan's next level: its tasks are added
    LINK = "link"
    UNLINK = "unlink"
    LEAD = "lead"  # a lead unit is named
    PROPOSE_STAND_DOWN = "propose_stand_down"  # the warnings were lifted: stand-down proposed
    STAND_DOWN = "stand_down"  # confirmed: the stand-down tasks go out
    CLOSE = "close"
    MERGE = "merge"  # this incident goes into another one (and closes)
    ABSORB = "absorb"  # this incident takes in another one
    SPLIT = "split"  # part of this incident goes into a new one


class IncidentEventKind(StrEnum):
    """What happened to an incident (past tense)."""

    OPENED = "incident.opened"
    ACTIVATED = "incident.activated"
    UPGRADED = "incident.upgraded"
    LINKED = "incident.linked"
    UNLINKED = "incident.unlinked"
    LEAD_NAMED = "incident.lead_named"
    STAND_DOWN_PROPOSED = "incident.stand_down_proposed"
    STOOD_DOWN = "incident.stood_down"
    CLOSED = "incident.closed"
    MERGED = "incident.merged"
    ABSORBED = "incident.absorbed"
    SPLIT = "incident.split"


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident: where, which domain, its state, plan and level, lead unit and links.

    `key` names the situation an automatic activation responds to (plan and region): at most
    one open incident has a given key, which makes activation idempotent."""

    id: IncidentId
    title: str
    region: str
    domain: str
    state: IncidentState
    opened_at: datetime
    updated_at: datetime
    key: str | None = None
    plan: str | None = None
    plan_level: Level | None = None  # the highest level of the plan activated so far
    response_level: ResponseLevel | None = None
    lead_unit: str | None = None
    links: frozenset[Link] = frozenset()
    activated_at: datetime | None = None
    stand_down_proposed_at: datetime | None = None
    stood_down_at: datetime | None = None
    closed_at: datetime | None = None
    merged_into: IncidentId | None = None

    @property
    def is_open(self) -> bool:
        """True until the incident is closed."""
        return self.state is not IncidentState.CLOSED

    def linked(self, kind: LinkKind) -> list[str]:
        """The ids of the linked things of one kind, sorted."""
        return sorted(link.ref for link in self.links if link.kind is kind)


@dataclass(frozen=True, slots=True)
class IncidentCommand:
    """A request to change an incident, with who asks and why.

    `plan`, `level` and `response` go with ACTIVATE and UPGRADE; `links` with LINK, UNLINK,
    OPEN, ABSORB and SPLIT; `lead` with LEAD (and OPEN, ACTIVATE); `other` names the incident
    merged into, absorbed or split off; `open_tasks` is the number of its unfinished tasks (a
    CLOSE needs none)."""

    kind: IncidentCommandKind
    actor: str
    reason: str
    plan: str | None = None
    level: Level | None = None
    response: ResponseLevel | None = None
    links: tuple[Link, ...] = ()
    lead: str | None = None
    other: str | None = None
    open_tasks: int = 0


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """One transition of one incident, with actor, reason and time."""

    kind: IncidentEventKind
    incident_id: IncidentId
    at: datetime
    actor: str
    reason: str
    from_state: IncidentState | None
    to_state: IncidentState
    details: Mapping[str, Any] = field(default_factory=dict)


def blank_incident(
    incident_id: IncidentId, *, title: str, region: str, domain: str, key: str | None = None
) -> Incident:
    """An incident's identity and place, before OPEN gives it its times."""
    epoch = datetime.fromtimestamp(0, UTC)
    return Incident(
        id=incident_id,
        title=title,
        region=region,
        domain=domain,
        state=IncidentState.OPEN,
        opened_at=epoch,
        updated_at=epoch,
        key=key,
    )


def incident_fields(x: Incident) -> dict[str, Any]:
    """An incident's fields but its links, enums as their text (the row of a store, the facts
    of a report)."""
    return {
        "id": x.id,
        "key": x.key,
        "title": x.title,
        "region": x.region,
        "domain": x.domain,
        "state": x.state.value,
        "plan": x.plan,
        "plan_level": x.plan_level.value if x.plan_level else None,
        "response_level": x.response_level.value if x.response_level else None,
        "lead_unit": x.lead_unit,
        "opened_at": x.opened_at,
        "updated_at": x.updated_at,
        "activated_at": x.activated_at,
        "stand_down_proposed_at": x.stand_down_proposed_at,
        "stood_down_at": x.stood_down_at,
        "closed_at": x.closed_at,
        "merged_into": x.merged_into,
    }
