"""Silence use cases: create, list, expire; each audited, each creation and expiry notified."""

from __future__ import annotations

import uuid
from dataclasses import KW_ONLY, dataclass
from datetime import datetime

from tocsin.core.audit import AuditRecord
from tocsin.core.errors import NotFound
from tocsin.core.warnings.selectors import Selector, selector_to_json
from tocsin.core.warnings.silences import (
    Silence,
    SilenceId,
    SilenceNotice,
    expire,
    validate_silence,
)
from tocsin.ports import AlertingStore, Clock
from tocsin.services.delivery import Handoff
from tocsin.services.dispatcher import Dispatcher


@dataclass(frozen=True)
class SilenceService:
    """Owned, reasoned, time-boxed silences (their notices composed by the dispatcher)."""

    store: AlertingStore
    clock: Clock
    _: KW_ONLY
    notices: Dispatcher
    handoff: Handoff

    def create(
        self,
        selector: Selector,
        *,
        created_by: str,
        reason: str,
        ends_at: datetime,
        starts_at: datetime | None = None,
    ) -> Silence:
        """Validate and store a silence; audit it and notify its creation in one transaction."""
        now = self.clock.now()
        silence = validate_silence(
            Silence(
                id=SilenceId(uuid.uuid4().hex),
                selector=selector,
                starts_at=starts_at or now,
                ends_at=ends_at,
                created_by=created_by,
                reason=reason,
                created_at=now,
            ),
            now,
        )
        details = {
            "selector": selector_to_json(selector),
            "starts_at": silence.starts_at.isoformat(),
            "ends_at": silence.ends_at.isoformat(),
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

    def get(self, silence_id: str) -> Silence:
        """One silence."""
        with self.store.transaction() as tx:
            silence = tx.silences.get(silence_id)
        if silence is None:
            raise NotFound(f"no silence {silence_id!r}")
        return silence

    def find(self, *, include_expired: bool = False) -> list[Silence]:
        """Silences, newest first."""
        with self.store.transaction() as tx:
            return tx.silences.find(now=self.clock.now(), include_expired=include_expired)

    def expire(self, silence_id: str, *, actor: str, reason: str = "") -> Silence:
        """End a silence now; audit it and notify its expiry in one transaction."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            current = tx.silences.get(silence_id)
            if current is None:
                raise NotFound(f"no silence {silence_id!r}")
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

    def history(self, silence_id: str) -> list[AuditRecord]:
        """The audit trail of a silence."""
        self.get(silence_id)
        with self.store.transaction() as tx:
            return tx.audit.trail("silence", silence_id)
