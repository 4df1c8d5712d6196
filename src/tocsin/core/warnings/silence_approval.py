"""Silence approval: a silence broader than one person may make waits for a second user's word.

`BreadthPolicy` says what one person may silence alone; `breadth` gives the reasons a silence
goes beyond it (no region, a region at a wide level such as a whole nation, every level for longer
than a day). Such a silence carries an `Approval` that is open until another user than its
creator decides: approved (it suppresses from then on) or refused (it never does). An open one
whose silence reaches its end simply expires unapproved. Decisions are pure: `decide` takes
`now` and returns the new approval or raises why it may not be made.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tocsin.core.errors import Conflict, Forbidden, InvalidInput, Problem
from tocsin.core.warnings.selectors import Selector


class Breadth(StrEnum):
    """Why a silence needs a second user's approval."""

    NO_REGION = "no_region"  # it matches every region
    WIDE_REGION = "wide_region"  # its region is at a wide level (a whole nation)
    ALL_LEVELS_LONG = "all_levels_long"  # every level, red included, for long


class Decision(StrEnum):
    """A second user's word on a broad silence."""

    APPROVED = "approved"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class BreadthPolicy:
    """What one person may silence alone: regions below `wide_levels`, and every level only for
    up to `all_levels_for`."""

    wide_levels: frozenset[str]
    all_levels_for: timedelta = timedelta(hours=24)


def breadth(
    selector: Selector, *, region_level: str | None, lasts: timedelta, policy: BreadthPolicy
) -> tuple[Breadth, ...]:
    """The reasons a silence is too broad for one person (empty: it is not)."""
    found = []
    if selector.region is None:
        found.append(Breadth.NO_REGION)
    elif region_level in policy.wide_levels:
        found.append(Breadth.WIDE_REGION)
    if not selector.levels and lasts > policy.all_levels_for:
        found.append(Breadth.ALL_LEVELS_LONG)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Approval:
    """Why a silence needs a second user, and that user's decision once made (None: open)."""

    needs: tuple[Breadth, ...]
    decision: Decision | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str = ""

    @property
    def is_open(self) -> bool:
        """True until somebody has decided."""
        return self.decision is None


def decide(
    approval: Approval,
    decision: Decision,
    *,
    actor: str,
    creator: str,
    now: datetime,
    note: str = "",
) -> Approval:
    """Record a second user's decision: never the creator's, only once, a refusal with a
    reason."""
    if not approval.is_open:
        raise Conflict(f"already {approval.decision} by {approval.decided_by}")
    if actor == creator:
        raise Forbidden("a broad silence needs another user's decision than its creator's")
    if decision is Decision.REFUSED and not note.strip():
        raise InvalidInput([Problem("body", "reason", "a refusal must give a reason")])
    return replace(approval, decision=decision, decided_by=actor, decided_at=now, note=note)


def approval_json(approval: Approval | None) -> dict[str, Any] | None:
    """An approval as JSON (stored and shown; None: the silence needs none)."""
    if approval is None:
        return None
    at = approval.decided_at
    return {
        "needs": [n.value for n in approval.needs],
        "decision": approval.decision.value if approval.decision else None,
        "decided_by": approval.decided_by,
        "decided_at": at.isoformat() if at else None,
        "note": approval.note,
    }


def approval_from_json(data: dict[str, Any] | None) -> Approval | None:
    """The approval `approval_json` wrote."""
    if not data:
        return None
    at = data.get("decided_at")
    decision = data.get("decision")
    return Approval(
        needs=tuple(Breadth(n) for n in data.get("needs", ())),
        decision=Decision(decision) if decision else None,
        decided_by=data.get("decided_by"),
        decided_at=datetime.fromisoformat(at) if at else None,
        note=data.get("note", ""),
    )
