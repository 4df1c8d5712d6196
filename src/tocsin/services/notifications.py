"""The warning pipeline's use cases: dispatch committed transitions, deliver the outbox.

`Dispatcher.tick(now)` reads warning transitions from the committed audit log (the change feed),
puts each warning into the aggregation groups of the routes it matches, starts and stops
escalations, evaluates due groups (silences, inhibition, mute windows, group_wait / interval /
repeat), takes due escalation steps and notices silence expiries. Everything one tick decides,
including the notifications it writes to the outbox and the feed position, commits in one
transaction per stage: a crash repeats a stage, never half of it, and repeating it writes the
same idempotency keys, which the outbox ignores.

`DeliveryWorker.run_once(now)` claims due outbox rows, hands each to its channel's notifier and
marks it delivered or schedules a retry with backoff. Semantics: at least once, with an
idempotency key per notification that the receiver sees (webhook header `Idempotency-Key`,
e-mail header `X-Tocsin-Idempotency-Key`); see docs/warnings.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from tocsin.core.audit import AuditRecord
from tocsin.core.catalog import Catalog
from tocsin.core.units import UnitCode
from tocsin.core.warnings.config import AlertingConfig
from tocsin.core.warnings.dedup import (
    channel_key,
    escalation_key,
    group_flush_key,
    silence_notice_key,
)
from tocsin.core.warnings.escalation import Escalation, next_step, policy_for, snapshot
from tocsin.core.warnings.grouping import (
    AggregationGroup,
    GroupState,
    Member,
    evaluate_group,
    schedule_on_change,
)
from tocsin.core.warnings.inhibition import inhibited_by
from tocsin.core.warnings.model import EventKind, Warning, WarningState
from tocsin.core.warnings.mute_windows import muted_by
from tocsin.core.warnings.outbox import (
    Address,
    Channel,
    DeliveryError,
    DeliveryStatus,
    Notification,
    NotificationKind,
    PayloadFormat,
    after_failure,
)
from tocsin.core.warnings.payloads import alertmanager_payload, summary, tocsin_payload
from tocsin.core.warnings.routing import GroupKey, Route, group_key, match_routes
from tocsin.core.warnings.selectors import Target, selector_to_json
from tocsin.core.warnings.silences import Silence, silenced_by
from tocsin.ports import AlertingSession, AlertingStore, Clock, FeedRow, Notifier
from tocsin.services.targets import TargetBuilder

log = logging.getLogger(__name__)

SUPPRESSED_RECHECK = timedelta(minutes=1)


@dataclass
class TickReport:
    """What one dispatcher tick did."""

    transitions: int = 0
    groups_evaluated: int = 0
    notifications: int = 0
    escalation_steps: int = 0
    silence_notices: int = 0


class Receivers:
    """Receiver name -> addresses: a named receiver of routes.yaml, else a unit's e-mail/webhook."""

    def __init__(self, config: AlertingConfig, catalog: Catalog) -> None:
        self.config = config
        self.catalog = catalog

    def addresses(self, name: str) -> tuple[Address, ...]:
        """Where a receiver is reached (empty when nowhere)."""
        if name in self.config.receivers:
            return self.config.receivers[name]
        unit = self.catalog.units.get(UnitCode(name))
        if unit is None:
            return ()
        out: list[Address] = []
        if unit.webhook_url:
            out.append(Address(Channel.WEBHOOK, unit.webhook_url))
        if unit.email:
            out.append(Address(Channel.EMAIL, unit.email))
        return tuple(out)


@dataclass
class _Context:
    """Per-stage caches."""

    silences: list[Silence] = field(default_factory=list)


def _render(
    address: Address,
    *,
    key: str,
    kind: NotificationKind,
    reason: str,
    receiver: str,
    labels: Mapping[str, str],
    firing: Sequence[Warning],
    resolved: Sequence[Warning],
    now: datetime,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    if address.format is PayloadFormat.ALERTMANAGER:
        return alertmanager_payload(
            group_key=f"{kind.value}:{receiver}:{sorted(labels.items())}",
            receiver=receiver,
            group_labels=labels,
            firing=firing,
            resolved=resolved,
        )
    return tocsin_payload(
        key=key,
        kind=kind.value,
        reason=reason,
        receiver=receiver,
        group_labels=labels,
        firing=firing,
        resolved=resolved,
        now=now,
        extra=extra,
    )


class Dispatcher:
    """Turns committed warning transitions into outbox notifications."""

    def __init__(
        self,
        store: AlertingStore,
        catalog: Catalog,
        config: AlertingConfig,
        *,
        batch: int = 2000,
        on_notify: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.config = config
        self.targets = TargetBuilder(catalog)
        self.receivers = Receivers(config, catalog)
        self.routes = {r.id: r for r in config.root.walk()}
        self.batch = batch
        self.on_notify = on_notify
        # in-process hand-off: notifications for these channels are written already claimed
        # (for `handoff_lease`) and handed to the delivery worker right after commit
        self.handoff: Callable[[list[Notification]], None] | None = None
        self.handoff_channels: frozenset[Channel] = frozenset()
        self.handoff_lease = timedelta(seconds=30)
        self._outgoing: list[Notification] = []

    # -- the tick ----------------------------------------------------------------------------
    def tick(self, now: datetime) -> TickReport:
        """Do all work due at `now`: consume the feed, evaluate groups, escalate, notice."""
        report = TickReport()
        while self._staged(self._consume, now, report) >= self.batch:
            pass
        for _ in range(100):
            if self._staged(self._flush_groups, now, report) < 200:
                break
        self._staged(self._escalate, now, report)
        self._silence_notices(now, report)
        if report.notifications and self.on_notify is not None:
            self.on_notify()
        return report

    def _staged(
        self, stage: Callable[[datetime, TickReport], int | None], now: datetime, report: TickReport
    ) -> int:
        """Run one stage (one transaction); after it commits, hand off what it claimed."""
        self._outgoing = []
        done = stage(now, report) or 0
        outgoing, self._outgoing = self._outgoing, []
        if outgoing and self.handoff is not None:
            self.handoff(outgoing)
        return done

    def _add(self, tx: AlertingSession, notes: list[Notification], now: datetime) -> None:
        """Write notifications to the outbox; pre-claim those handed off after commit."""
        if self.handoff is not None:
            lease_end = now + self.handoff_lease
            notes = [
                replace(n, attempts=1, next_attempt_at=lease_end)
                if n.channel in self.handoff_channels
                else n
                for n in notes
            ]
            self._outgoing += [n for n in notes if n.channel in self.handoff_channels]
        tx.add_notifications(notes)

    def next_due(self) -> datetime | None:
        """When the next group evaluation is due (for schedulers that sleep until then)."""
        with self.store.transaction() as tx:
            return tx.next_group_due()

    # -- feed: routing and escalation start/stop ---------------------------------------------
    def _consume(self, now: datetime, report: TickReport) -> int:
        with self.store.transaction() as tx:
            rows = tx.read_feed(self.batch)
            if not rows:
                return 0
            warnings = tx.warnings_by_ids([r.warning_id for r in rows])
            targets = {wid: self.targets.target(w) for wid, w in warnings.items()}
            routed = {
                wid: [(route, group_key(route, t)) for route in match_routes(self.config.root, t)]
                for wid, t in targets.items()
            }
            wanted = [key.id for pairs in routed.values() for _, key in pairs]
            current = tx.groups_of_many(list(warnings))
            groups = tx.get_groups(wanted + [g for gs in current.values() for g in gs])
            touched: dict[str, AggregationGroup] = {}
            for row in rows:
                warning = warnings.get(row.warning_id)
                if warning is None:
                    continue
                if row.kind != EventKind.ACKNOWLEDGED.value:
                    self._route(tx, warning, routed[warning.id], current, groups, touched, now)
                self._track_escalation(tx, row, warning, targets[warning.id], now)
            due_now = [
                g
                for g in touched.values()
                if g.state.next_flush_at is not None and g.state.next_flush_at <= now
            ]
            for group in touched.values():
                tx.save_group(group)
            if due_now:  # group_wait 0 (or overdue): evaluate now, in this same transaction
                self._evaluate(tx, due_now, now, report)
            tx.advance_feed([r.id for r in rows])
        report.transitions += len(rows)
        return len(rows)

    def _route(
        self,
        tx: AlertingSession,
        warning: Warning,
        routed: Sequence[tuple[Route, GroupKey]],
        current: dict[str, set[str]],
        groups: dict[str, AggregationGroup],
        touched: dict[str, AggregationGroup],
        now: datetime,
    ) -> None:
        keys: set[str] = set()
        for route, key in routed:
            if not key.receiver:
                log.warning("no receiver for warning", extra={"warning": warning.id})
                continue
            keys.add(key.id)
            group = groups.get(key.id)
            if group is None:
                group = AggregationGroup(
                    key.id, route.id, key.receiver, key.as_labels(), GroupState(created_at=now)
                )
            if key.id not in current.setdefault(warning.id, set()):
                tx.add_members(key.id, [warning.id])
                current[warning.id].add(key.id)
            groups[key.id] = touched[key.id] = self._scheduled(group, route, now)
        for old in sorted(current.get(warning.id, set()) - keys):
            # the warning no longer belongs there (its labels changed): the old group reports it
            # resolved at its next evaluation
            tx.remove_members(old, [warning.id])
            current[warning.id].discard(old)
            group = groups.get(old)
            if group is not None:
                route = self.routes.get(group.route_id, self.config.root)
                groups[old] = touched[old] = self._scheduled(group, route, now)

    @staticmethod
    def _scheduled(group: AggregationGroup, route: Route, now: datetime) -> AggregationGroup:
        due = schedule_on_change(group.state, now, route.timing)
        return replace(group, state=replace(group.state, next_flush_at=due))

    def _track_escalation(
        self, tx: AlertingSession, row: FeedRow, warning: Warning, target: Target, now: datetime
    ) -> None:
        if row.kind in (EventKind.RAISED.value, EventKind.UPGRADED.value):
            if warning.state is not WarningState.ACTIVE:
                return
            policy = policy_for(target, self.config.escalation)
            if policy is None:
                return
            chain = self.targets.chain(warning.region, warning.domain)
            snap = snapshot(policy, chain=chain, started_at=now)
            step = next_step(snap, 0, now)
            tx.save_escalation(Escalation(warning.id, snap, 0, step.due_at if step else None))
        elif row.kind in (EventKind.ACKNOWLEDGED.value, EventKind.LIFTED.value):
            current = tx.get_escalation(warning.id)
            if current is not None and current.stopped_at is None:
                reason = f"{row.kind.removeprefix('warning.')} by {row.actor}"
                tx.save_escalation(
                    replace(current, next_due_at=None, stopped_at=now, stop_reason=reason)
                )

    # -- groups --------------------------------------------------------------------------------
    def suppressed_by(
        self, tx: AlertingSession, targets: Sequence[Target], now: datetime, ctx: _Context
    ) -> dict[str, tuple[str, ...]]:
        """Silence and inhibition ids suppressing each target (computed, never stored)."""
        regions: set[str] = set()
        for t in targets:
            regions.update(t.regions[1:])
            regions.update(self.targets.asset_regions(set(t.depends_on)))
        sources = [self.targets.target(w) for w in tx.open_warnings_in_regions(sorted(regions))]
        out: dict[str, tuple[str, ...]] = {}
        for t in targets:
            silenced = tuple(f"silence:{s}" for s in silenced_by(t, ctx.silences, now))
            inhibited = tuple(
                f"warning:{w}" for w in inhibited_by(t, sources, self.config.inhibit_rules)
            )
            out[t.warning_id] = silenced + inhibited
        return out

    def _flush_groups(self, now: datetime, report: TickReport) -> int:
        with self.store.transaction() as tx:
            due = tx.due_groups(now, 200)
            if not due:
                return 0
            self._evaluate(tx, due, now, report)
        return len(due)

    def _evaluate(
        self,
        tx: AlertingSession,
        due: Sequence[AggregationGroup],
        now: datetime,
        report: TickReport,
    ) -> None:
        ctx = _Context(tx.list_silences(now=now, include_expired=False))
        members = tx.members_of([g.id for g in due])
        wanted = [w for g in due for w in [*members[g.id], *g.state.notified]]
        warnings = tx.warnings_by_ids(wanted)
        targets = [self.targets.target(w) for w in warnings.values() if w.is_open]
        suppressed = self.suppressed_by(tx, targets, now, ctx)
        for group in due:
            self._flush(tx, group, members[group.id], warnings, suppressed, now, report)
        report.groups_evaluated += len(due)

    def _flush(
        self,
        tx: AlertingSession,
        group: AggregationGroup,
        member_ids: list[str],
        warnings: Mapping[str, Warning],
        suppressed: Mapping[str, tuple[str, ...]],
        now: datetime,
        report: TickReport,
    ) -> None:
        route = self.routes.get(group.route_id, self.config.root)
        members_w = [warnings[i] for i in member_ids if i in warnings]
        members = [Member(w.id, w.level, w.is_open, suppressed.get(w.id, ())) for w in members_w]
        muted = muted_by(route.mute_windows, dict(self.config.mute_windows), now)
        decision = evaluate_group(group.state, members, now, timing=route.timing, muted_by=muted)
        flushes = group.flushes
        if decision.notify and decision.reason is not None:
            firing = [warnings[i] for i in decision.firing]
            resolved = [warnings[i] for i in decision.resolved if i in warnings]
            key = group_flush_key(group.id, flushes)
            notes = self._notifications(
                key=key,
                kind=NotificationKind.GROUP,
                reason=decision.reason.value,
                receiver=group.receiver,
                labels=group.labels,
                firing=firing,
                resolved=resolved,
                now=now,
            )
            self._add(tx, notes, now)
            report.notifications += len(notes)
            flushes += 1
        gone = set(decision.drop) | {i for i in member_ids if i not in warnings}
        tx.remove_members(group.id, sorted(gone))
        if decision.state.next_flush_at is None and not (set(member_ids) - gone):
            tx.delete_group(group.id)
        else:
            tx.save_group(replace(group, state=decision.state, flushes=flushes))

    def _notifications(
        self,
        *,
        key: str,
        kind: NotificationKind,
        reason: str,
        receiver: str,
        labels: Mapping[str, str],
        firing: Sequence[Warning],
        resolved: Sequence[Warning],
        now: datetime,
        extra: Mapping[str, Any] | None = None,
        subject: str | None = None,
    ) -> list[Notification]:
        addresses = self.receivers.addresses(receiver)
        if not addresses:
            log.warning("receiver has no address", extra={"receiver": receiver})
        ids = tuple(w.id for w in [*firing, *resolved])
        return [
            Notification(
                key=channel_key(key, a.channel.value, a.address),
                kind=kind,
                receiver=receiver,
                channel=a.channel,
                address=a.address,
                format=a.format,
                subject=subject or summary(firing, resolved),
                payload=_render(
                    a,
                    key=key,
                    kind=kind,
                    reason=reason,
                    receiver=receiver,
                    labels=labels,
                    firing=firing,
                    resolved=resolved,
                    now=now,
                    extra=extra,
                ),
                created_at=now,
                warning_ids=ids,
                next_attempt_at=now,
                reason=reason,
            )
            for a in addresses
        ]

    def explain_delivery(self, warning: Warning, now: datetime) -> dict[str, Any]:
        """Where a warning goes, what suppresses it now, its escalation and notifications."""
        target = self.targets.target(warning)
        with self.store.transaction() as tx:
            ctx = _Context(tx.list_silences(now=now, include_expired=False))
            suppressed = self.suppressed_by(tx, [target], now, ctx)[warning.id]
            escalation = tx.get_escalation(warning.id)
            notes = tx.list_notifications(warning_id=warning.id, limit=500)
        routes = match_routes(self.config.root, target)
        return {
            "warning_id": warning.id,
            "routes": [
                {
                    "route": r.id,
                    "receiver": group_key(r, target).receiver,
                    "group_by": list(r.group_by),
                    "muted_by": list(muted_by(r.mute_windows, dict(self.config.mute_windows), now)),
                }
                for r in routes
            ],
            "suppressed_by": list(suppressed),
            "responsible_chain": list(self.targets.chain(warning.region, warning.domain)),
            "escalation": None
            if escalation is None
            else {
                **escalation.snapshot.as_json(),
                "progress": escalation.progress,
                "next_due_at": escalation.next_due_at.isoformat()
                if escalation.next_due_at
                else None,
                "stopped_at": escalation.stopped_at.isoformat() if escalation.stopped_at else None,
                "stop_reason": escalation.stop_reason,
            },
            "notifications": [
                {
                    "key": n.key,
                    "kind": n.kind.value,
                    "reason": n.reason,
                    "receiver": n.receiver,
                    "channel": n.channel.value,
                    "address": n.address,
                    "status": n.status.value,
                    "attempts": n.attempts,
                    "created_at": n.created_at.isoformat(),
                    "delivered_at": n.delivered_at.isoformat() if n.delivered_at else None,
                }
                for n in notes
            ],
        }

    # -- escalation ----------------------------------------------------------------------------
    def _escalate(self, now: datetime, report: TickReport) -> int:
        with self.store.transaction() as tx:
            due = tx.due_escalations(now, 500)
            if not due:
                return 0
            ctx = _Context(tx.list_silences(now=now, include_expired=False))
            warnings = tx.warnings_by_ids([e.warning_id for e in due])
            for esc in due:
                self._escalate_one(tx, esc, warnings.get(esc.warning_id), now, ctx, report)
        return len(due)

    def _escalate_one(
        self,
        tx: AlertingSession,
        esc: Escalation,
        warning: Warning | None,
        now: datetime,
        ctx: _Context,
        report: TickReport,
    ) -> None:
        if warning is None or warning.state is not WarningState.ACTIVE:
            tx.save_escalation(replace(esc, next_due_at=None, stopped_at=now, stop_reason="closed"))
            return
        target = self.targets.target(warning)
        if self.suppressed_by(tx, [target], now, ctx)[warning.id]:
            tx.save_escalation(replace(esc, next_due_at=now + SUPPRESSED_RECHECK))
            return
        step = next_step(esc.snapshot, esc.progress, now)
        if step is None:
            tx.save_escalation(replace(esc, next_due_at=None, stop_reason="no more steps"))
            return
        key = escalation_key(warning.id, esc.snapshot.started_at.isoformat(), step.index)
        reason = (
            f"not acknowledged {int((now - esc.snapshot.started_at).total_seconds() // 60)} min "
            f"after it started; escalation step {step.index + 1} ({esc.snapshot.policy})"
        )
        notes = self._notifications(
            key=key,
            kind=NotificationKind.ESCALATION,
            reason=reason,
            receiver=step.unit,
            labels={"region": warning.region, "domain": warning.domain},
            firing=[warning],
            resolved=[],
            now=now,
            extra={"escalation": {"policy": esc.snapshot.policy, "step": step.index + 1}},
            subject=f"[ESCALATION {step.index + 1}] " + summary([warning], []),
        )
        self._add(tx, notes, now)
        report.notifications += len(notes)
        report.escalation_steps += 1
        following = next_step(esc.snapshot, esc.progress + 1, now)
        tx.save_escalation(
            replace(
                esc,
                progress=esc.progress + 1,
                next_due_at=following.due_at if following else None,
            )
        )

    # -- silences --------------------------------------------------------------------------------
    def silence_notice(self, silence: Silence, what: str, now: datetime) -> list[Notification]:
        """Notifications telling the silence's scope that it was created or has expired."""
        receivers = list(self.config.silence_notices_to)
        sel = silence.selector
        if sel.region is not None:
            units = self.targets.chain(sel.region, sel.domain or "")
            if units:
                receivers.append(units[0])
        out: list[Notification] = []
        for receiver in dict.fromkeys(receivers):
            out += self._notifications(
                key=silence_notice_key(silence.id, what),
                kind=NotificationKind.SILENCE,
                reason=f"silence {what}",
                receiver=receiver,
                labels={},
                firing=[],
                resolved=[],
                now=now,
                extra={"silence": silence_json(silence, now)},
                subject=f"[SILENCE {what.upper()}] {sel.describe()} until "
                f"{silence.ends_at.isoformat()} by {silence.created_by}: {silence.reason}",
            )
        return out

    def _silence_notices(self, now: datetime, report: TickReport) -> None:
        with self.store.transaction() as tx:
            for silence in tx.silences_to_notice_expiry(now):
                notes = self.silence_notice(silence, "expired", now)
                tx.add_notifications(notes)
                report.notifications += len(notes)
                tx.mark_expiry_noticed(silence.id)
                if silence.expired_by is None:
                    tx.append_audit(
                        [
                            AuditRecord(
                                silence.ends_at,
                                "system:silences",
                                "silence.expired",
                                "silence",
                                silence.id,
                                "reached its end time",
                                {},
                            )
                        ]
                    )
                report.silence_notices += 1


def silence_json(silence: Silence, now: datetime) -> dict[str, Any]:
    """A silence as JSON (API and notices)."""
    return {
        "id": silence.id,
        "selector": selector_to_json(silence.selector),
        "starts_at": silence.starts_at.isoformat(),
        "ends_at": silence.ends_at.isoformat(),
        "created_by": silence.created_by,
        "reason": silence.reason,
        "created_at": silence.created_at.isoformat(),
        "expired_by": silence.expired_by,
        "state": silence.state(now).value,
    }


@dataclass
class DeliveryReport:
    """What one delivery round did."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0


class DeliveryWorker:
    """Sends due outbox notifications through their channel's notifier."""

    def __init__(
        self,
        store: AlertingStore,
        notifiers: Mapping[Channel, Notifier],
        *,
        lease: timedelta = timedelta(seconds=30),
        batch: int = 50,
        clock: Clock | None = None,
        record_each: bool = True,
    ) -> None:
        self.store = store
        self.notifiers = notifiers
        self.lease = lease
        self.batch = batch
        self.clock = clock
        self.record_each = record_each

    def run_once(self, now: datetime) -> DeliveryReport:
        """Claim due notifications (for `lease`), send each, record the outcomes.

        Outcomes are recorded after each send (`record_each`, the default), so a crash can
        re-send, under the same idempotency key, at most the one notification that was being
        handed to a channel; with `record_each=False` they are recorded together after the
        round (one short write, faster), and a crash can re-send the whole round."""
        claimed = self.store.claim_notifications(
            now,
            until=now + self.lease,
            limit=self.batch,
            channels=[c.value for c in self.notifiers],  # others wait for a worker that has them
        )
        return self.deliver_claimed(claimed, now)

    def deliver_claimed(self, claimed: Sequence[Notification], now: datetime) -> DeliveryReport:
        """Send notifications already claimed for this worker (the dispatcher's hand-off)."""
        report = DeliveryReport()
        outcomes: list[tuple[Notification, str | None, bool, datetime]] = []
        for note in claimed:
            outcomes.append(self._send(note, now))
            if self.record_each:
                self._record(outcomes, now, report)
                outcomes = []
        self._record(outcomes, now, report)
        return report

    def _send(
        self, note: Notification, now: datetime
    ) -> tuple[Notification, str | None, bool, datetime]:
        notifier = self.notifiers.get(note.channel)
        error: str | None = None
        retryable = True
        try:
            if notifier is None:
                raise DeliveryError(
                    f"no notifier for channel {note.channel.value}", retryable=False
                )
            notifier.send(note)
        except DeliveryError as err:
            error, retryable = str(err), err.retryable
        except Exception as err:  # the outermost worker boundary: log, count, back off
            log.exception("notifier crashed", extra={"key": note.key})
            error = f"{type(err).__name__}: {err}"
        done_at = self.clock.now() if self.clock is not None else now
        return note, error, retryable, done_at

    def _record(
        self,
        outcomes: Sequence[tuple[Notification, str | None, bool, datetime]],
        now: datetime,
        report: DeliveryReport,
    ) -> None:
        if not outcomes:
            return
        with self.store.transaction() as tx:
            for note, error, retryable, done_at in outcomes:
                if error is None:
                    tx.mark_notification(
                        note.key,
                        status=DeliveryStatus.DELIVERED,
                        attempts=note.attempts,
                        next_attempt_at=None,
                        delivered_at=done_at,
                        error=None,
                    )
                    report.delivered += 1
                    continue
                status, next_at = after_failure(note.attempts, note.key, now)
                if not retryable:
                    status, next_at = DeliveryStatus.FAILED, None
                tx.mark_notification(
                    note.key,
                    status=status,
                    attempts=note.attempts,
                    next_attempt_at=next_at,
                    delivered_at=None,
                    error=error,
                )
                if status is DeliveryStatus.FAILED:
                    report.failed += 1
                else:
                    report.retried += 1
