"""Public alert use cases for people: draft (from a warning or by hand), edit, submit, approve,
reject, publish, withdraw — each checked against the access policy and audited.

Drafting needs the `draft` permission, approving, rejecting and publishing the `publish`
permission, and every alert's regions (with its domain) must lie in the acting principal's
scope. Approval needs a second person: whoever drafted or edited an alert may not approve or
reject it (`core/cap/lifecycle.py`). With `publish_on_approval` (the default) an approval
publishes at once, in the same transaction. A message that fails a check is neither submitted
nor published: the answer lists each problem (rule and where), and the refusal is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from tocsin.core.access import Placement, Principal, require, require_place, require_places
from tocsin.core.audit import AuditRecord
from tocsin.core.cap.drafting import edited
from tocsin.core.cap.lifecycle import (
    PENDING,
    SUBJECT,
    AlertCommand,
    AlertState,
    PublicAlert,
    apply,
    new_draft,
)
from tocsin.core.cap.message import MsgType
from tocsin.core.errors import Conflict, InvalidInput, NotFound, Problem
from tocsin.core.levels import Level
from tocsin.core.users import Permission
from tocsin.core.warnings.model import Warning
from tocsin.ports import AlertingSession, AlertingStore, Clock
from tocsin.ports.public_alerts import AlertQuery
from tocsin.services.publication import Choices, Drafter, Published, Publisher, missing

Change = Callable[[PublicAlert], dict[str, Any]]  # the fields a command sets, from the alert
PERMISSION: dict[AlertCommand, Permission] = {
    AlertCommand.EDIT: Permission.DRAFT,
    AlertCommand.SUBMIT: Permission.DRAFT,
    AlertCommand.WITHDRAW: Permission.DRAFT,
    AlertCommand.APPROVE: Permission.PUBLISH,
    AlertCommand.REJECT: Permission.PUBLISH,
    AlertCommand.PUBLISH: Permission.PUBLISH,
}


def alert_places(alert: PublicAlert) -> list[tuple[str, Placement]]:
    """Where a public alert sits, region by region, for the access policy."""
    return [(f"regions[{i}]", Placement(r, alert.domain)) for i, r in enumerate(alert.regions)]


def latest_published(tx: AlertingSession, warning_id: str) -> PublicAlert | None:
    """The published, not superseded message about a warning (None when there is none)."""
    query = AlertQuery(states=(AlertState.PUBLISHED,), warning_id=warning_id, limit=1)
    found = tx.public_alerts.find(query)
    return found[0] if found else None


@dataclass(frozen=True)
class PublicAlertService:
    """Drafts and moves public alerts through approval to publication."""

    store: AlertingStore
    clock: Clock
    drafter: Drafter
    publisher: Publisher
    publish_on_approval: bool = True

    def draft_from_warning(
        self, warning_id: str, *, principal: Principal, choices: Choices, reason: str = ""
    ) -> PublicAlert:
        """A draft about an open warning: an Alert, or an Update when one is published."""
        require(principal, Permission.DRAFT)
        self.drafter.check_texts(choices)
        now = self.clock.now()
        with self.store.transaction() as tx:
            warning = tx.warnings.get(warning_id)
            if warning is None:
                raise NotFound(f"no warning {warning_id!r}")
            where = Placement(warning.region, warning.domain)
            require_place(principal, where, action=f"drafting a public alert of {warning_id}")
            if not warning.is_open:
                raise Conflict(f"warning {warning_id} is lifted: there is nothing to warn of")
            self._no_pending(tx, warning_id)
            return self.new_draft(
                tx,
                warning=warning,
                actor=principal.name,
                choices=choices,
                reason=reason or "drafted from the warning",
                now=now,
            )

    def new_draft(
        self,
        tx: AlertingSession,
        *,
        warning: Warning,
        actor: str,
        choices: Choices,
        reason: str,
        now: datetime,
    ) -> PublicAlert:
        """Draft the warning's next message in this session (an Update when its thread has a
        published one)."""
        current = latest_published(tx, warning.id)
        request = self.drafter.request(
            regions=[warning.region],
            domain=warning.domain,
            level=warning.level,
            warning=warning,
            choices=choices,
        )
        identifier = self.drafter.identifier(now)
        message = self.drafter.message(request, now=now, identifier=identifier)
        if current is not None:
            message = replace(message, msg_type=MsgType.UPDATE)
        draft, record = new_draft(
            message,
            thread=current.thread if current is not None else None,
            regions=(warning.region,),
            domain=warning.domain,
            level=warning.level,
            author=actor,
            warning_id=warning.id,
            reason=reason,
            now=now,
        )
        tx.public_alerts.add(draft)
        tx.audit.append([record])
        return draft

    def draft(
        self,
        *,
        regions: Sequence[str],
        domain: str,
        level: Level,
        principal: Principal,
        choices: Choices,
        reason: str = "",
    ) -> PublicAlert:
        """A draft made by hand for regions, a domain and a level (no warning behind it)."""
        require(principal, Permission.DRAFT)
        self.drafter.check_texts(choices)
        request = self.drafter.request(
            regions=regions, domain=domain, level=level, warning=None, choices=choices
        )
        places = [(f"regions[{i}]", Placement(r, domain)) for i, r in enumerate(regions)]
        require_places(principal, places, action="drafting a public alert")
        now = self.clock.now()
        identifier = self.drafter.identifier(now)
        message = self.drafter.message(request, now=now, identifier=identifier)
        draft, record = new_draft(
            message,
            thread=None,
            regions=tuple(r.code for r in request.regions),
            domain=domain,
            level=level,
            author=principal.name,
            warning_id=None,
            reason=reason or "drafted by hand",
            now=now,
        )
        with self.store.transaction() as tx:
            tx.public_alerts.add(draft)
            tx.audit.append([record])
        return draft

    def edit(
        self, identifier: str, *, principal: Principal, choices: Choices, reason: str = ""
    ) -> PublicAlert:
        """Change a draft (or a rejected alert, which becomes a draft again): urgency,
        certainty, onset, expires, and the texts of each language."""
        self.drafter.check_texts(choices)
        timing = {
            "urgency": choices.urgency,
            "certainty": choices.certainty,
            "onset": choices.onset,
            "expires": choices.expires,
        }

        def change(alert: PublicAlert) -> dict[str, Any]:
            message = edited(alert.message, choices=timing, texts=choices.texts)
            return {"message": message, "expires_at": message.expires}

        return self._move(
            identifier, AlertCommand.EDIT, principal=principal, reason=reason, changes=change
        )

    def submit(self, identifier: str, *, principal: Principal, reason: str = "") -> PublicAlert:
        """Submit a draft for approval (refused, listing each problem, when it would not pass
        the checks publication runs)."""
        return self._move(identifier, AlertCommand.SUBMIT, principal=principal, reason=reason)

    def approve(self, identifier: str, *, principal: Principal, reason: str = "") -> PublicAlert:
        """Approve a submitted alert (a second person); publish it too unless configured not
        to."""
        return self._move(identifier, AlertCommand.APPROVE, principal=principal, reason=reason)

    def reject(self, identifier: str, *, principal: Principal, reason: str) -> PublicAlert:
        """Send a submitted alert back, with the reason (a second person)."""
        if not reason.strip():
            raise InvalidInput([Problem("body", "reason", "a rejection needs a reason")])
        return self._move(identifier, AlertCommand.REJECT, principal=principal, reason=reason)

    def publish(self, identifier: str, *, principal: Principal, reason: str = "") -> PublicAlert:
        """Publish an approved alert."""
        return self._move(identifier, AlertCommand.PUBLISH, principal=principal, reason=reason)

    def withdraw(self, identifier: str, *, principal: Principal, reason: str = "") -> PublicAlert:
        """Give up an alert that is not published."""
        return self._move(identifier, AlertCommand.WITHDRAW, principal=principal, reason=reason)

    def _move(
        self,
        identifier: str,
        command: AlertCommand,
        *,
        principal: Principal,
        reason: str,
        changes: Change | None = None,
    ) -> PublicAlert:
        """Apply a command (scoped, audited); publish when the command is or implies it."""
        require(principal, PERMISSION[command])
        now = self.clock.now()
        try:
            with self.store.transaction() as tx:
                alert, out = self._apply(
                    tx,
                    identifier,
                    command=command,
                    principal=principal,
                    reason=reason,
                    changes=changes,
                    now=now,
                )
        except InvalidInput as err:
            self._refused(identifier, command, principal=principal, err=err, now=now)
            raise
        self.publisher.handoff.put(out.handed)
        return alert

    def _apply(
        self,
        tx: AlertingSession,
        identifier: str,
        *,
        command: AlertCommand,
        principal: Principal,
        reason: str,
        changes: Change | None,
        now: datetime,
    ) -> tuple[PublicAlert, Published]:
        current = tx.public_alerts.get(identifier)
        if current is None:
            raise missing(identifier)
        action = f"{command.value} public alert {identifier}"
        require_places(principal, alert_places(current), action=action)
        said = reason or PAST_REASON[command]
        if command is AlertCommand.PUBLISH:
            return self.publisher.publish(tx, current, actor=principal.name, reason=said, now=now)
        extra = changes(current) if changes is not None else None
        if command is AlertCommand.SUBMIT:
            self._check(tx, current, now=now)
        alert, record = apply(
            current, command, actor=principal.name, reason=said, now=now, changes=extra
        )
        tx.public_alerts.save(alert)
        tx.audit.append([record])
        if command is AlertCommand.APPROVE and self.publish_on_approval:
            return self.publisher.publish(tx, alert, actor=principal.name, reason=said, now=now)
        return alert, Published([record])

    def _check(self, tx: AlertingSession, alert: PublicAlert, *, now: datetime) -> None:
        """InvalidInput listing each problem the message would meet at publication."""
        _, problems = self.publisher.check(self.publisher.stamped(tx, alert, now=now))
        if problems:
            raise InvalidInput(problems)

    def _no_pending(self, tx: AlertingSession, warning_id: str) -> None:
        query = AlertQuery(states=tuple(PENDING), warning_id=warning_id, limit=1)
        for pending in tx.public_alerts.find(query):
            raise Conflict(
                f"public alert {pending.identifier} is {pending.state.value} for warning "
                f"{warning_id}: edit or withdraw it first"
            )

    def _refused(
        self,
        identifier: str,
        command: AlertCommand,
        *,
        principal: Principal,
        err: InvalidInput,
        now: datetime,
    ) -> None:
        """Audit a refused submission or publication with its problems (own transaction)."""
        if command not in (AlertCommand.SUBMIT, AlertCommand.APPROVE, AlertCommand.PUBLISH):
            return
        details = {"command": command.value, "problems": [str(p) for p in err.problems[:50]]}
        record = AuditRecord(
            now,
            principal.name,
            f"{SUBJECT}.refused",
            SUBJECT,
            identifier,
            f"{command.value} refused: {len(err.problems)} problem(s)",
            details,
        )
        with self.store.transaction() as tx:
            if tx.public_alerts.get(identifier) is not None:
                tx.audit.append([record])


PAST_REASON: dict[AlertCommand, str] = {
    AlertCommand.EDIT: "edited",
    AlertCommand.SUBMIT: "submitted for approval",
    AlertCommand.APPROVE: "approved",
    AlertCommand.REJECT: "rejected",
    AlertCommand.PUBLISH: "published",
    AlertCommand.WITHDRAW: "withdrawn",
    AlertCommand.SUPERSEDE: "superseded",
}
