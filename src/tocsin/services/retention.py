"""The retention job: personal data is deleted once its period (docs/data.md) is over, and
raw observations past theirs are summarised per interval or dropped (docs/retention.md).

Finished notifications (addresses, payloads), ended sign-ins and revoked or expired tokens, and
events are deleted after their periods (settings `TOCSIN_RETAIN_*_DAYS`); the run is audited
with its counts. The audit trail itself is kept whole: its records (and the user names of their
actors) are the accountable record of what was done, and deleting one would break the chain.
Users stay until an administrator removes them.

Observations (`TOCSIN_RETAIN_OBSERVATIONS_DAYS`, unset: kept for ever) are summarised and
deleted in a transaction of their own, so a summary and the deletion of what it summarises
commit together or not at all. Warnings, their history, the audit trail, incidents and events
are not observations: this never touches them.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from typing import Any

from tocsin.core.audit import AuditRecord
from tocsin.core.observation_rollups import AfterRetention, RollupPolicy
from tocsin.ports import Clock, Store, StoreSession

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Periods:
    """How long each kind of personal data is kept."""

    notifications: timedelta = timedelta(days=90)
    sign_ins: timedelta = timedelta(days=90)
    events: timedelta = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class RetentionRun:
    """What one run deleted (or, dry, would delete)."""

    notifications: int
    sign_ins_and_tokens: int
    events: int
    dry_run: bool
    observations_summarised: int = 0  # raw observations summarised into rollups
    observations_deleted: int = 0
    observations_before: int | None = None  # the cut-off, epoch seconds (None: kept for ever)

    def as_json(self) -> dict[str, Any]:
        """The counts as JSON."""
        return asdict(self)


@dataclass(frozen=True)
class RetentionService:
    """Deletes what is past its period, in one audited transaction."""

    store: Store
    clock: Clock
    periods: Periods = Periods()
    observations: RollupPolicy | None = None  # None: observations are kept for ever

    def run(self, *, dry_run: bool = False) -> RetentionRun:
        """Delete (or count) everything past its period now."""
        personal = self._personal(dry_run=dry_run)
        if self.observations is None:
            return personal
        policy = self.observations
        cutoff = policy.cutoff(self.clock.now())
        try:
            with self.store.transaction() as tx:
                summarised, deleted = self._observations(tx, policy, cutoff)
                if dry_run:
                    raise _Counted(summarised, deleted)
        except _Counted as counted:
            summarised, deleted = counted.summarised, counted.deleted
        return replace(
            personal,
            observations_summarised=summarised,
            observations_deleted=deleted,
            observations_before=cutoff,
        )

    def _observations(self, tx: StoreSession, policy: RollupPolicy, cutoff: int) -> tuple[int, int]:
        """Summarise (when downsampling) and delete the observations before `cutoff`."""
        summarised = 0
        if policy.after is AfterRetention.DOWNSAMPLE:
            summarised = tx.observations.roll_up(before=cutoff, interval_s=policy.interval_s)
        deleted = tx.observations.drop_before(before=cutoff)
        if deleted:
            details = {"before": cutoff, "summarised": summarised, "deleted": deleted}
            record = AuditRecord(
                self.clock.now(),
                "system:retention",
                "retention.observations",
                "data",
                "observations",
                f"raw observations past {policy.raw_for.total_seconds() / 86_400:g} days "
                f"({policy.after.value})",
                details,
            )
            tx.audit.append([record])
        return summarised, deleted

    def _personal(self, *, dry_run: bool) -> RetentionRun:
        """Delete (or count) the personal data past its period."""
        now = self.clock.now()
        p = self.periods
        with self.store.transaction() as tx:
            notes = tx.retention.notifications(before=now - p.notifications, delete=not dry_run)
            events = tx.retention.events(before=now - p.events, delete=not dry_run)
            ended = 0 if dry_run else tx.credentials.forget(before=now - p.sign_ins)
            done = RetentionRun(notes, ended, events, dry_run)
            if not dry_run and (notes or ended or events):
                why = "past the retention period"
                details = done.as_json()
                record = AuditRecord(
                    now, "system:retention", "retention.run", "data", "retention", why, details
                )
                tx.audit.append([record])
        return done


class _Counted(Exception):
    """Rolls a dry run's transaction back, carrying what it would have done."""

    def __init__(self, summarised: int, deleted: int) -> None:
        super().__init__("dry run")
        self.summarised = summarised
        self.deleted = deleted
