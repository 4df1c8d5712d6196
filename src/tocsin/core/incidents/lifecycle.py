"""The incident lifecycle: one transition table and one pure function that applies a command.

    open ──activate──► active ──stand down──► stabilised ──close──► closed
      │                 ▲  │ upgrade (more tasks)  │                  ▲
      └──────close──────┼──┴───────────────────────┼──────merge───────┘
                        └──────activate (again)────┘

Linking, naming the lead unit, absorbing another incident and splitting part of this one off
change no state. Closing needs every task finished; an upgrade must raise the plan's level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from tocsin.core.errors import IllegalTransition
from tocsin.core.incidents.model import (
    Incident,
    IncidentCommand,
    IncidentEvent,
    IncidentEventKind,
    IncidentState,
    Link,
)
from tocsin.core.incidents.model import IncidentCommandKind as K
from tocsin.core.transitions import changed, refusal

OPEN, A, S, C = (
    IncidentState.OPEN,
    IncidentState.ACTIVE,
    IncidentState.STABILISED,
    IncidentState.CLOSED,
)
LIVE: Final = (OPEN, A, S)
KEEPS_STATE: Final = (K.LINK, K.UNLINK, K.LEAD, K.ABSORB, K.SPLIT)

# (state, command) -> next state
TRANSITIONS: Final[dict[tuple[IncidentState | None, K], IncidentState]] = {
    (None, K.OPEN): OPEN,
    (OPEN, K.ACTIVATE): A,
    (S, K.ACTIVATE): A,
    (A, K.UPGRADE): A,
    (A, K.PROPOSE_STAND_DOWN): A,
    (A, K.STAND_DOWN): S,
    (OPEN, K.CLOSE): C,
    (S, K.CLOSE): C,
    **{(s, K.MERGE): C for s in LIVE},
    **{(s, k): s for s in LIVE for k in KEEPS_STATE},
}

EVENT_OF: Final[dict[K, IncidentEventKind]] = {
    K.OPEN: IncidentEventKind.OPENED,
    K.ACTIVATE: IncidentEventKind.ACTIVATED,
    K.UPGRADE: IncidentEventKind.UPGRADED,
    K.LINK: IncidentEventKind.LINKED,
    K.UNLINK: IncidentEventKind.UNLINKED,
    K.LEAD: IncidentEventKind.LEAD_NAMED,
    K.PROPOSE_STAND_DOWN: IncidentEventKind.STAND_DOWN_PROPOSED,
    K.STAND_DOWN: IncidentEventKind.STOOD_DOWN,
    K.CLOSE: IncidentEventKind.CLOSED,
    K.MERGE: IncidentEventKind.MERGED,
    K.ABSORB: IncidentEventKind.ABSORBED,
    K.SPLIT: IncidentEventKind.SPLIT,
}


def _upgrade_refused(incident: Incident, command: IncidentCommand) -> str | None:
    if command.level is None:
        return "an upgrade names the plan's level"
    if incident.plan_level is not None and command.level.rank <= incident.plan_level.rank:
        return f"the plan is already at {incident.plan_level.value}"
    return None


def _link_refused(incident: Incident, command: IncidentCommand) -> str | None:
    if not command.links:
        return "nothing to link"
    if set(command.links) <= incident.links:
        return "already linked"
    return None


def _unlink_refused(incident: Incident, command: IncidentCommand) -> str | None:
    missing = set(command.links) - incident.links
    if not command.links or missing:
        return "not linked: " + ", ".join(f"{m.kind.value} {m.ref}" for m in sorted(missing))
    return None


def _close_refused(_incident: Incident, command: IncidentCommand) -> str | None:
    if command.open_tasks:
        return f"{command.open_tasks} task(s) are not finished"
    return None


def _other_refused(incident: Incident, command: IncidentCommand) -> str | None:
    if not command.other or command.other == incident.id:
        return "another incident must be named"
    return None


def _proposal_refused(incident: Incident, _command: IncidentCommand) -> str | None:
    return "stand-down is already proposed" if incident.stand_down_proposed_at else None


def _lead_refused(_incident: Incident, command: IncidentCommand) -> str | None:
    return None if command.lead else "a lead unit must be named"


def _split_refused(incident: Incident, command: IncidentCommand) -> str | None:
    refused = _other_refused(incident, command)
    if refused is None and command.links:  # only tasks may go, too
        refused = _unlink_refused(incident, command)
    return refused


GUARDS: Final[dict[K, Callable[[Incident, IncidentCommand], str | None]]] = {
    K.UPGRADE: _upgrade_refused,
    K.LINK: _link_refused,
    K.UNLINK: _unlink_refused,
    K.CLOSE: _close_refused,
    K.MERGE: _other_refused,
    K.ABSORB: _other_refused,
    K.SPLIT: _split_refused,
    K.PROPOSE_STAND_DOWN: _proposal_refused,
    K.LEAD: _lead_refused,
}


def _activation(i: Incident, c: IncidentCommand, now: datetime) -> dict[str, Any]:
    return {
        "plan": c.plan or i.plan,
        "plan_level": c.level or i.plan_level,
        "response_level": c.response or i.response_level,
        "lead_unit": c.lead or i.lead_unit,
        "activated_at": now,
        "stand_down_proposed_at": None,
        "stood_down_at": None,
    }


def _upgrade(i: Incident, c: IncidentCommand, _now: datetime) -> dict[str, Any]:
    response = i.response_level
    if c.response is not None and (response is None or c.response.rank > response.rank):
        response = c.response
    return {"plan_level": c.level, "response_level": response}


CHANGES: Final[dict[K, Callable[[Incident, IncidentCommand, datetime], dict[str, Any]]]] = {
    K.ACTIVATE: _activation,
    K.UPGRADE: _upgrade,
    K.LINK: lambda i, c, _: {"links": i.links | frozenset(c.links)},
    K.ABSORB: lambda i, c, _: {"links": i.links | frozenset(c.links)},
    K.UNLINK: lambda i, c, _: {"links": i.links - frozenset(c.links)},
    K.SPLIT: lambda i, c, _: {"links": i.links - frozenset(c.links)},
    K.LEAD: lambda _i, c, _: {"lead_unit": c.lead},
    K.PROPOSE_STAND_DOWN: lambda _i, _c, now: {"stand_down_proposed_at": now},
    K.STAND_DOWN: lambda _i, _c, now: {"stood_down_at": now},
    K.CLOSE: lambda _i, _c, now: {"closed_at": now},
    K.MERGE: lambda _i, c, now: {"closed_at": now, "merged_into": c.other},
}


def open_incident(
    template: Incident, command: IncidentCommand, now: datetime
) -> tuple[Incident, IncidentEvent]:
    """Create an incident from a template (identity and place) with the OPEN command."""
    if command.kind is not K.OPEN:
        raise IllegalTransition("an incident is created only by OPEN")
    incident = replace(
        template,
        state=OPEN,
        opened_at=now,
        updated_at=now,
        links=frozenset(command.links),
        lead_unit=command.lead,
    )
    return incident, _event(command, incident, now=now, from_state=None)


def apply(
    incident: Incident, command: IncidentCommand, now: datetime
) -> tuple[Incident, IncidentEvent]:
    """Apply a command to an incident at `now`; return the new record and its event."""
    target = TRANSITIONS.get((incident.state, command.kind))
    if target is None:
        raise IllegalTransition(
            f"cannot {command.kind.value.replace('_', ' ')} an incident that is "
            f"{incident.state.value}"
        )
    why = refusal(incident, command, guards=GUARDS)
    if why is not None:
        raise IllegalTransition(f"cannot {command.kind.value.replace('_', ' ')}: {why}")
    new = changed(incident, command, now=now, state=target, changes=CHANGES)
    return new, _event(command, new, now=now, from_state=incident.state)


def _event(
    command: IncidentCommand, new: Incident, *, now: datetime, from_state: IncidentState | None
) -> IncidentEvent:
    details: dict[str, Any] = {
        "from_state": from_state.value if from_state else None,
        "to_state": new.state.value,
    }
    extra = {
        "plan": command.plan,
        "level": command.level.value if command.level else None,
        "response_level": command.response.value if command.response else None,
        "lead": command.lead,
        "other": command.other,
    }
    details.update({k: v for k, v in extra.items() if v is not None})
    if command.links:
        details["links"] = [_link_json(link) for link in sorted(command.links)]
    if command.kind is K.OPEN:
        details.update(region=new.region, domain=new.domain, title=new.title)
    return IncidentEvent(
        kind=EVENT_OF[command.kind],
        incident_id=new.id,
        at=now,
        actor=command.actor,
        reason=command.reason,
        from_state=from_state,
        to_state=new.state,
        details=details,
    )


def _link_json(link: Link) -> dict[str, str]:
    return {"kind": link.kind.value, "ref": link.ref}
