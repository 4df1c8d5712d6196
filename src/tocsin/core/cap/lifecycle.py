"""The public alert record and its approval lifecycle: one transition table, one pure function.

    draft ─submit─► submitted ─approve─► approved ─publish─► published ─supersede─► superseded
      ▲                  │ reject                                (an Update or Cancel of it
      └──edit── rejected ◄┘                                       was published)
    withdraw: draft, submitted, approved or rejected ─► withdrawn

Approval needs a second person: whoever drafted or edited an alert may not approve or reject
it (`is_second_person`). Published, superseded and withdrawn are final for people; expired is
computed (a published alert past its `expires` leaves the feed), never stored. Every transition
returns its audit record (actor, reason, time, from and to state).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from tocsin.core.audit import AuditRecord
from tocsin.core.cap.message import Alert, MsgType
from tocsin.core.errors import Forbidden, IllegalTransition
from tocsin.core.levels import Level

SUBJECT: Final = "public_alert"


class AlertState(StrEnum):
    """Where a public alert stands (stored)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    PUBLISHED = "published"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"


class AlertCommand(StrEnum):
    """What can be done to a public alert."""

    EDIT = "edit"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    PUBLISH = "publish"
    WITHDRAW = "withdraw"
    SUPERSEDE = "supersede"


D, S, A, P = AlertState.DRAFT, AlertState.SUBMITTED, AlertState.APPROVED, AlertState.PUBLISHED
R, W, X = AlertState.REJECTED, AlertState.WITHDRAWN, AlertState.SUPERSEDED
TRANSITIONS: Final[dict[tuple[AlertState, AlertCommand], AlertState]] = {
    (D, AlertCommand.EDIT): D,
    (R, AlertCommand.EDIT): D,
    (D, AlertCommand.SUBMIT): S,
    (S, AlertCommand.APPROVE): A,
    (S, AlertCommand.REJECT): R,
    (A, AlertCommand.PUBLISH): P,
    (D, AlertCommand.WITHDRAW): W,
    (S, AlertCommand.WITHDRAW): W,
    (A, AlertCommand.WITHDRAW): W,
    (R, AlertCommand.WITHDRAW): W,
    (P, AlertCommand.SUPERSEDE): X,
}
PAST: Final[dict[AlertCommand, str]] = {
    AlertCommand.EDIT: "edited",
    AlertCommand.SUBMIT: "submitted",
    AlertCommand.APPROVE: "approved",
    AlertCommand.REJECT: "rejected",
    AlertCommand.PUBLISH: "published",
    AlertCommand.WITHDRAW: "withdrawn",
    AlertCommand.SUPERSEDE: "superseded",
}
NEEDS_SECOND_PERSON: Final = frozenset({AlertCommand.APPROVE, AlertCommand.REJECT})
PENDING: Final = frozenset({D, S, A, R})  # not yet published, not given up


@dataclass(frozen=True, slots=True)
class PublicAlert:
    """A CAP message on its way to the public (or there): its content, where and how bad it
    is, who wrote and approved it, and what was published."""

    identifier: str
    state: AlertState
    message: Alert
    thread: str  # the identifier of the first message of its chain (Alert, Update…, Cancel)
    regions: tuple[str, ...]
    domain: str
    level: Level
    authors: tuple[str, ...]  # whoever drafted or edited it
    created_at: datetime
    updated_at: datetime
    warning_id: str | None = None
    approved_by: str | None = None
    published_at: datetime | None = None
    expires_at: datetime | None = None
    reason: str = ""
    xml: str | None = None  # the document as published (None before)
    auto: bool = False  # published by configuration (auto_publish), not by a second person

    @property
    def msg_type(self) -> MsgType:
        """Alert, Update or Cancel."""
        return self.message.msg_type

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages of its info blocks."""
        return self.message.languages

    def is_active(self, now: datetime) -> bool:
        """True while it is in the feed: published, not superseded, not expired."""
        return self.state is P and (self.expires_at is None or self.expires_at > now)


def is_second_person(alert: PublicAlert, actor: str) -> bool:
    """Guard: the actor neither drafted nor edited the alert."""
    return actor not in alert.authors


def apply(
    alert: PublicAlert,
    command: AlertCommand,
    *,
    actor: str,
    reason: str,
    now: datetime,
    changes: dict[str, Any] | None = None,
) -> tuple[PublicAlert, AuditRecord]:
    """Apply a command at `now`; return the new record and its audit record. `changes` are
    the fields the command sets besides state (the new message of an edit, the published
    document)."""
    target = TRANSITIONS.get((alert.state, command))
    if target is None:
        raise IllegalTransition(
            f"cannot {command.value} public alert {alert.identifier}: it is {alert.state.value}"
        )
    if command in NEEDS_SECOND_PERSON and not is_second_person(alert, actor):
        raise Forbidden(
            f"{actor} drafted or edited public alert {alert.identifier} and may not "
            f"{command.value} it: a second person must"
        )
    fields: dict[str, Any] = {"state": target, "updated_at": now, "reason": reason}
    if command is AlertCommand.EDIT and actor not in alert.authors:
        fields["authors"] = (*alert.authors, actor)
    if command is AlertCommand.APPROVE:
        fields["approved_by"] = actor
    fields |= changes or {}
    new = replace(alert, **fields)
    return new, audit_record(alert, new, actor=actor, reason=reason, kind=PAST[command])


def audit_record(
    before: PublicAlert | None, after: PublicAlert, *, actor: str, reason: str, kind: str
) -> AuditRecord:
    """The audit record of a transition (or of the drafting, when `before` is None)."""
    details = {
        "from_state": before.state.value if before else None,
        "to_state": after.state.value,
        "msg_type": after.msg_type.value,
        "warning_id": after.warning_id,
        "thread": after.thread,
        "level": after.level.value,
        "regions": list(after.regions),
    }
    return AuditRecord(
        after.updated_at, actor, f"{SUBJECT}.{kind}", SUBJECT, after.identifier, reason, details
    )


def new_draft(
    message: Alert,
    *,
    thread: str | None,
    regions: tuple[str, ...],
    domain: str,
    level: Level,
    author: str,
    warning_id: str | None,
    reason: str,
    now: datetime,
) -> tuple[PublicAlert, AuditRecord]:
    """A new draft of a message and the audit record of its drafting."""
    draft = PublicAlert(
        identifier=message.identifier,
        state=D,
        message=message,
        thread=thread or message.identifier,
        regions=regions,
        domain=domain,
        level=level,
        authors=(author,),
        created_at=now,
        updated_at=now,
        warning_id=warning_id,
        expires_at=message.expires,
        reason=reason,
    )
    return draft, audit_record(None, draft, actor=author, reason=reason, kind="drafted")
