"""Activation: what a warning transition does to the response (a pure decider with a reason).

A warning that reaches its plan's activation level opens an incident under the plan (or
activates the open or stabilised incident it belongs to); a higher level adds the tasks of the
plan's levels up to it; a lift of the last open warning of an active incident proposes its
stand-down. Everything else changes nothing, and says why. Deciding again on the same
transition decides the same, which makes activation idempotent together with the incident's key
(one open incident per plan and region) and task ids derived from their content.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from tocsin.core.incidents.model import Incident, IncidentState, Link, LinkKind
from tocsin.core.incidents.plans import EmergencyPlan, PlanLevel
from tocsin.core.levels import Level
from tocsin.core.warnings.model import EventKind, Warning

RAISING: Final = frozenset({EventKind.RAISED.value, EventKind.UPGRADED.value})
LIFTING: Final = EventKind.LIFTED.value


class ActivationReason(StrEnum):
    """What a warning transition did to the response."""

    OPENED = "opened"  # a new incident, its plan activated
    ACTIVATED = "activated"  # the warning's open or stabilised incident activated (again)
    UPGRADED = "upgraded"  # a higher level of the plan: its tasks are added
    LINKED = "linked"  # the warning joins its incident; nothing else changes
    UNCHANGED = "unchanged"  # already linked, at a level already reached
    NO_PLAN = "no_plan"
    BELOW_LEVEL = "below_level"  # under the plan's activation level
    STAND_DOWN_PROPOSED = "stand_down_proposed"  # the last open linked warning was lifted
    STILL_WARNED = "still_warned"  # lifted, but another linked warning is still open
    NOT_LINKED = "not_linked"  # lifted (or changed) without an incident
    IGNORED = "ignored"  # acknowledged or downgraded: the response goes on as it was


@dataclass(frozen=True, slots=True)
class Activation:
    """The decision: why, the plan, the plan levels whose tasks to add, and whether to link."""

    reason: ActivationReason
    plan: EmergencyPlan | None = None
    levels: tuple[PlanLevel, ...] = ()
    link: bool = False

    @property
    def level(self) -> Level | None:
        """The plan level reached (the highest of `levels`)."""
        return self.levels[-1].level if self.levels else None


def warning_link(warning: Warning) -> Link:
    """The link an incident keeps to a warning."""
    return Link(LinkKind.WARNING, warning.id)


def incident_key(plan: EmergencyPlan, region: str) -> str:
    """The identity of the situation a plan responds to automatically: plan and region."""
    return f"{plan.id}@{region}"


def on_warning(
    warning: Warning,
    kind: str,
    *,
    plan: EmergencyPlan | None,
    incident: Incident | None,
    others_open: bool = False,
) -> Activation:
    """Decide what a committed warning transition (`kind`) does, given the plan that applies,
    the open incident it belongs to (linked, or by key) and whether another warning linked to
    that incident is still open."""
    if kind == LIFTING:
        return _on_lift(warning, incident, others_open=others_open)
    if kind not in RAISING or not warning.is_open:  # read late: it has been lifted since
        return Activation(ActivationReason.IGNORED)
    linked = incident is not None and warning_link(warning) in incident.links
    if plan is None:
        reason = ActivationReason.LINKED if incident and not linked else ActivationReason.NO_PLAN
        return Activation(reason, link=reason is ActivationReason.LINKED)
    if warning.level.rank < plan.activation_level.rank:
        return Activation(ActivationReason.BELOW_LEVEL, plan)
    if incident is None:
        return Activation(
            ActivationReason.OPENED, plan, plan.levels_between(None, warning.level), link=True
        )
    return _on_raise(warning, plan, incident, linked=linked)


def _on_raise(
    warning: Warning, plan: EmergencyPlan, incident: Incident, *, linked: bool
) -> Activation:
    reached = incident.plan_level if incident.plan == plan.id else None
    levels = plan.levels_between(reached, warning.level)
    if incident.state in (IncidentState.OPEN, IncidentState.STABILISED):
        return Activation(ActivationReason.ACTIVATED, plan, levels, link=not linked)
    if levels:
        return Activation(ActivationReason.UPGRADED, plan, levels, link=not linked)
    reason = ActivationReason.UNCHANGED if linked else ActivationReason.LINKED
    return Activation(reason, plan, link=not linked)


def _on_lift(warning: Warning, incident: Incident | None, *, others_open: bool) -> Activation:
    if incident is None or warning_link(warning) not in incident.links:
        return Activation(ActivationReason.NOT_LINKED)
    if others_open:
        return Activation(ActivationReason.STILL_WARNED)
    if incident.state is not IncidentState.ACTIVE or incident.stand_down_proposed_at is not None:
        return Activation(ActivationReason.UNCHANGED)
    return Activation(ActivationReason.STAND_DOWN_PROPOSED)
