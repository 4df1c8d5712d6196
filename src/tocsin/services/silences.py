"""Silence use cases: create, list, expire; each audited, each creation and expiry notified."""

from __future__ import annotations

import uuid
from dataclasses import KW_ONLY, dataclass
from datetime import datetime
from typing import Final

from tocsin.core.access import Placement, Principal, require, require_found, require_place, visible
from tocsin.core.audit import AuditRecord
from tocsin.core.regions import RegionCode, RegionTree
from tocsin.core.users import Permission
from tocsin.core.warnings.selectors import Selector, selector_to_json
from tocsin.core.warnings.silence_approval import Approval, BreadthPolicy, Decision, breadth
from tocsin.core.warnings.silences import (
    Silence,
    SilenceId,
    SilenceNotice,
    SilenceState,
    approve,
    expire,
    refuse,
    validate_silence,
)
from tocsin.ports import AlertingSession, AlertingStore, Clock
from tocsin.services.delivery import Handoff
from tocsin.services.dispatcher import Dispatcher


def silence_place(silence: Silence) -> Placement:
    """Where a silence sits, for the access policy: its selector's region and domain (None:
    every region, every domain)."""
    return Placement(silence.selector.region, silence.selector.domain)


@dataclass(frozen=True)
class SilenceService:
    """Owned, reasoned, time-boxed silences (their notices composed by the dispatcher)."""

    store: AlertingStore
    clock: Clock
    _: KW_ONLY
    notices: Dispatcher
    handoff: Handoff
    regions: RegionTree
    policy: BreadthPolicy

    def create(
        self,
        selector: Selector,
        *,
        principal: Principal,
        reason: str,
        ends_at: datetime,
        starts_at: datetime | None = None,
    ) -> Silence:
        """Validate and store a silence within the principal's scope; audit it and notify its
        creation in one transaction."""
        require(principal, Permission.SILENCE)
        where = Placement(selector.region, selector.domain)
        require_place(principal, where, action=f"silencing {selector.describe()}")
        created_by = principal.name
        now = self.clock.now()
        start = starts_at or now
        region = self.regions.regions.get(RegionCode(selector.region or ""))
        broad = breadth(
            selector,
            region_level=region.level if region else None,
            lasts=ends_at - max(start, now),
            policy=self.policy,
        )
        silence = validate_silence(
            Silence(
                id=SilenceId(uuid.uuid4().hex),
                selector=selector,
                starts_at=start,
                ends_at=ends_at,
                created_by=created_by,
                reason=reason,
                created_at=now,
                approval=Approval(broad) if broad else None,
            ),
            now,
        )
        details = {
            "selector": selector_to_json(selector),
            "starts_at": silence.starts_at.isoformat(),
            "ends_at": silence.ends_at.isoformat(),
            "needs_approval": [b.value for b in broad],
        }
        with self.store.transaction() as tx:
            tx.silences.save(silence, new=True)
            tx.audit.append(
                [
                    AuditRecord(
                        now, created_by, "silence.created", "silence", silence.id, reason, details
                    )
                ]
            )
            tx.outbox.add(self.notices.silence_notice(silence, SilenceNotice.CREATED, now=now))
            self.notices.wake_for_silence(tx, silence, now=now)
        self.handoff.wake()
        return silence

    def get(self, silence_id: str, *, principal: Principal) -> Silence:
        """One silence (Forbidden outside the principal's scope)."""
        require(principal, Permission.READ)
        with self.store.transaction() as tx:
            found = tx.silences.get(silence_id)
        return require_found(
            principal, found, kind="silence", ident=silence_id, place=silence_place
        )

    def find(
        self,
        *,
        include_expired: bool = False,
        state: SilenceState | None = None,
        principal: Principal,
    ) -> list[Silence]:
        """Silences the principal may see (in one state, when given), newest first."""
        require(principal, Permission.READ)
        now = self.clock.now()
        with self.store.transaction() as tx:
            found = tx.silences.find(now=now, include_expired=include_expired)
        if state is not None:
            found = [s for s in found if s.state(now) is state]
        return visible(principal, found, silence_place)

    def expire(self, silence_id: str, *, principal: Principal, reason: str = "") -> Silence:
        """End a silence now (within the principal's scope); audit it and notify its expiry in
        one transaction."""
        require(principal, Permission.SILENCE)
        actor = principal.name
        now = self.clock.now()
        with self.store.transaction() as tx:
            current = _to_act_on(tx, silence_id, principal, action="expiring")
            done = expire(current, actor=actor, now=now)
            tx.silences.save(done, new=False)
            why = reason or "expired by hand"
            tx.audit.append(
                [AuditRecord(now, actor, "silence.expired", "silence", done.id, why, {})]
            )
            tx.outbox.add(self.notices.silence_notice(done, SilenceNotice.EXPIRED, now=now))
            tx.silences.mark_noticed(done.id)
        self.handoff.wake()
        return done

    def approve(self, silence_id: str, *, principal: Principal) -> Silence:
        """A second user (within the silence's scope) approves a broad silence: it suppresses
        from then on; audited and notified in one transaction."""
        return self._decide(silence_id, Decision.APPROVED, principal=principal, note="")

    def refuse(self, silence_id: str, *, principal: Principal, reason: str) -> Silence:
        """A second user (within the silence's scope) refuses a broad silence, saying why: it
        ends without ever suppressing; audited and notified in one transaction."""
        return self._decide(silence_id, Decision.REFUSED, principal=principal, note=reason)

    def _decide(
        self, silence_id: str, decision: Decision, *, principal: Principal, note: str
    ) -> Silence:
        require(principal, Permission.SILENCE)
        actor = principal.name
        now = self.clock.now()
        with self.store.transaction() as tx:
            current = _to_act_on(tx, silence_id, principal, action=_ACTING[decision])
            done = _DECIDERS[decision](current, actor=actor, now=now, note=note)
            tx.silences.save(done, new=False)
            needs = ", ".join(done.approval.needs if done.approval else ())
            why = f"{decision.value} ({needs})" + (f": {note}" if note else "")
            record = AuditRecord(now, actor, f"silence.{decision.value}", "silence", done.id, why)
            tx.audit.append([record])
            notice = SilenceNotice(decision.value)
            tx.outbox.add(self.notices.silence_notice(done, notice, now=now))
            if decision is Decision.REFUSED:
                tx.silences.mark_noticed(done.id)  # its end is the refusal, told just now
        self.handoff.wake()
        return done

    def history(self, silence_id: str, *, principal: Principal) -> list[AuditRecord]:
        """The audit trail of a silence."""
        self.get(silence_id, principal=principal)
        with self.store.transaction() as tx:
            return tx.audit.trail("silence", silence_id)


_ACTING: Final = {Decision.APPROVED: "approving", Decision.REFUSED: "refusing"}
_DECIDERS: Final = {Decision.APPROVED: approve, Decision.REFUSED: refuse}


def _to_act_on(
    tx: AlertingSession, silence_id: str, principal: Principal, *, action: str
) -> Silence:
    """The silence a principal acts on (NotFound; Forbidden outside its scope)."""
    stored = tx.silences.get(silence_id)
    return require_found(
        principal, stored, kind="silence", ident=silence_id, place=silence_place, doing=action
    )
