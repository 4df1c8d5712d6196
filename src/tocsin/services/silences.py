"""Silence use cases: create, list, expire; each audited, each creation and expiry notified."""

from __future__ import annotations

import uuid
from datetime import datetime

from tocsin.core.audit import AuditRecord
from tocsin.core.errors import NotFound
from tocsin.core.warnings.selectors import Selector, selector_to_json
from tocsin.core.warnings.silences import (
    Silence,
    SilenceId,
    expire,
    validate_silence,
)
from tocsin.ports import AlertingStore, Clock
from tocsin.services.notifications import Dispatcher


class SilenceService:
    """Owned, reasoned, time-boxed silences."""

    def __init__(self, store: AlertingStore, clock: Clock, dispatcher: Dispatcher) -> None:
        self.store = store
        self.clock = clock
        self.dispatcher = dispatcher

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
        with self.store.transaction() as tx:
            tx.save_silence(silence, new=True)
            tx.append_audit(
                [
                    AuditRecord(
                        now,
                        created_by,
                        "silence.created",
                        "silence",
                        silence.id,
                        reason,
                        {
                            "selector": selector_to_json(selector),
                            "starts_at": silence.starts_at.isoformat(),
                            "ends_at": silence.ends_at.isoformat(),
                        },
                    )
                ]
            )
            tx.add_notifications(self.dispatcher.silence_notice(silence, "created", now))
        if self.dispatcher.on_notify is not None:
            self.dispatcher.on_notify()
        return silence

    def get(self, silence_id: str) -> Silence:
        """One silence."""
        with self.store.transaction() as tx:
            silence = tx.get_silence(silence_id)
        if silence is None:
            raise NotFound(f"no silence {silence_id!r}")
        return silence

    def find(self, *, include_expired: bool = False) -> list[Silence]:
        """Silences, newest first."""
        with self.store.transaction() as tx:
            return tx.list_silences(now=self.clock.now(), include_expired=include_expired)

    def expire(self, silence_id: str, *, actor: str, reason: str = "") -> Silence:
        """End a silence now; audit it and notify its expiry in one transaction."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            current = tx.get_silence(silence_id)
            if current is None:
                raise NotFound(f"no silence {silence_id!r}")
            done = expire(current, actor=actor, now=now)
            tx.save_silence(done, new=False)
            tx.append_audit(
                [
                    AuditRecord(
                        now,
                        actor,
                        "silence.expired",
                        "silence",
                        done.id,
                        reason or "expired by hand",
                        {},
                    )
                ]
            )
            tx.add_notifications(self.dispatcher.silence_notice(done, "expired", now))
            tx.mark_expiry_noticed(done.id)
        if self.dispatcher.on_notify is not None:
            self.dispatcher.on_notify()
        return done

    def history(self, silence_id: str) -> list[AuditRecord]:
        """The audit trail of a silence."""
        self.get(silence_id)
        with self.store.transaction() as tx:
            return tx.base.audit_for("silence", silence_id)
