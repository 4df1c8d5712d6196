"""The warning pipeline, top to bottom: committed warning transitions in, notifications out.

Composed like Alertmanager's notify pipeline, one pure decider per stage (core/warnings/…):

    stage                          decider (module)                 reason it returns
    1 route                        routing.route                    RouteReason
    2 inhibit, 3 silence and mute  suppression.suppress, muted_by   SuppressReason
    4 group and flush              grouping.evaluate_group          NotifyReason
    5 escalate                     escalation.start / stop / on_due EscalationReason
    6 outbox                       payloads.compose (+ dedup keys)

`Dispatcher.tick(now)` runs passes until no work is left. One pass (`_pass`, below) reads the
next committed warning transitions and runs every stage once, in ONE transaction: the feed rows
it read, the groups and escalations it changed, the notifications it wrote and the feed's new
position commit together. A crash repeats a pass, never half of it, and repeating it writes the
same idempotency keys (derived from content), which the outbox keeps once. After the commit,
notifications for this process's channels go to its delivery worker through the hand-off given
at construction (delivery.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from tocsin.core.access import Placement, Principal, require, require_place
from tocsin.core.catalog import Catalog
from tocsin.core.users import Permission
from tocsin.core.warnings.config import AlertingConfig
from tocsin.core.warnings.escalation import (
    STARTED_BY,
    Escalation,
    EscalationDecision,
    on_due,
    policy_for,
    start,
    step_message,
    step_record,
    stop,
)
from tocsin.core.warnings.grouping import (
    AggregationGroup,
    evaluate_group,
    flush_message,
    member_of,
    new_group,
    on_member_change,
    version_of,
    wake,
)
from tocsin.core.warnings.inhibition import InhibitScope
from tocsin.core.warnings.model import EventKind, Warning, WarningState
from tocsin.core.warnings.mute_windows import muted_by
from tocsin.core.warnings.outbox import Message, Notification, addresses_of, log_entry
from tocsin.core.warnings.payloads import compose
from tocsin.core.warnings.routing import GroupMove, RouteReason, group_key, match_routes, route
from tocsin.core.warnings.selectors import Target
from tocsin.core.warnings.silences import Silence, SilenceNotice, notice_messages, ran_out
from tocsin.core.warnings.suppression import source_regions, suppress
from tocsin.ports import AlertingSession, AlertingStore, FeedRow
from tocsin.services.delivery import Handoff
from tocsin.services.notification_scope import redacted, sees_notification, shown_suppressors
from tocsin.services.targets import TargetBuilder

log = logging.getLogger(__name__)

FLUSH_BATCH = 200  # due groups per pass
ESCALATION_BATCH = 500  # due escalations per pass


@dataclass
class TickReport:
    """What one dispatcher tick did."""

    transitions: int = 0
    groups_evaluated: int = 0
    notifications: int = 0
    escalation_steps: int = 0
    silence_notices: int = 0


@dataclass
class Pass:
    """One transaction of the dispatcher: its session, its moment, the notifications it writes
    and those it hands off after its commit."""

    tx: AlertingSession
    now: datetime
    handoff: Handoff
    builder: TargetBuilder
    written: int = 0
    handed: list[Notification] = field(default_factory=list)
    targets: dict[str, Target] = field(default_factory=dict)  # the pass's view of each warning

    def target(self, warning: Warning) -> Target:
        """How the stages see a warning (built once per pass: warnings do not change in it)."""
        found = self.targets.get(warning.id)
        if found is None:
            found = self.targets[warning.id] = self.builder.target(warning)
        return found

    def write(self, notes: Sequence[Notification]) -> None:
        """Stage 6: into the outbox (pre-claimed when handed off)."""
        rows, handed = self.handoff.prepare(notes, self.now)
        self.tx.outbox.add(rows)
        self.handed += handed
        self.written += len(notes)


class Dispatcher:
    """Turns committed warning transitions into outbox notifications."""

    def __init__(
        self,
        store: AlertingStore,
        catalog: Catalog,
        *,
        config: AlertingConfig,
        handoff: Handoff | None = None,
        batch: int = 2000,
    ) -> None:
        self.store = store
        self.units = catalog.units
        self.config = config
        self.handoff = handoff or Handoff()
        self.batch = batch
        self.targets = TargetBuilder(catalog)
        self.routes = {r.id: r for r in config.root.walk()}

    def tick(self, now: datetime) -> TickReport:
        """Do all work due at `now`, one transaction per pass, until none is left."""
        report = TickReport()
        while self._pass(now, report):
            pass
        if report.notifications:
            self.handoff.wake()
        return report

    def _pass(self, now: datetime, report: TickReport) -> bool:
        """Every stage once, in one transaction; True when a stage may have more work."""
        with self.store.transaction() as tx:
            work = Pass(tx, now, self.handoff, self.targets)
            rows = tx.feed.read(self.batch)
            changed = tx.warnings.by_ids([r.warning_id for r in rows])
            touched = self._route(work, rows, warnings=changed)  # 1
            self._start_or_stop_escalations(work, rows, warnings=changed)  # 5
            notices = self._notice_ended_silences(work, touched=touched)  # 3, 6
            due = self._due_groups(work, touched)
            self._flush(work, due, known=changed)  # 2, 3, 4, 6
            escalations = tx.escalations.due(now, ESCALATION_BATCH)
            steps = self._escalate(work, escalations)  # 2, 3, 5, 6
            if rows:
                tx.feed.advance([r.id for r in rows])
        self.handoff.put(work.handed)
        report.transitions += len(rows)
        report.groups_evaluated += len(due)
        report.notifications += work.written
        report.escalation_steps += steps
        report.silence_notices += notices
        more = len(rows) >= self.batch or len(due) >= FLUSH_BATCH
        return more or len(escalations) >= ESCALATION_BATCH

    # -- 1 route -------------------------------------------------------------------------------
    def _route(
        self, work: Pass, rows: Sequence[FeedRow], *, warnings: Mapping[str, Warning]
    ) -> dict[str, AggregationGroup]:
        """Put each changed warning into the groups of the routes it matches (acknowledgements
        change no group); return the groups changed, rescheduled."""
        moved = {
            r.warning_id: warnings[r.warning_id]
            for r in rows
            if r.kind != EventKind.ACKNOWLEDGED.value and r.warning_id in warnings
        }
        current = work.tx.groups.groups_of(list(moved))
        decisions = {
            wid: route(work.target(w), self.config.root, current=current[wid])
            for wid, w in moved.items()
        }
        groups = work.tx.groups.get_many(
            sorted({m.group_id for d in decisions.values() for m in d.moves})
        )
        touched: dict[str, AggregationGroup] = {}
        for wid, decision in decisions.items():
            for move in decision.moves:
                group = self._move(work, move, warning_id=wid, group=groups.get(move.group_id))
                if group is not None:
                    groups[group.id] = touched[group.id] = group
        self._wake(work, self._inhibitable(work, list(moved.values())), touched=touched)
        for group in touched.values():
            work.tx.groups.save(group)
        return touched

    def _move(
        self, work: Pass, move: GroupMove, *, warning_id: str, group: AggregationGroup | None
    ) -> AggregationGroup | None:
        """Apply one routing move to the membership; return the group rescheduled (or None)."""
        if move.reason is RouteReason.NO_RECEIVER:
            log.warning("no receiver for warning", extra={"warning": warning_id})
            return None
        if move.reason is RouteReason.LEFT:
            # it no longer belongs there: the group reports it resolved at its next evaluation
            work.tx.groups.remove_members(move.group_id, [warning_id])
            if group is None:
                return None
            left = self.routes.get(group.route_id, self.config.root)
            return on_member_change(group, left, now=work.now)
        if move.reason is RouteReason.JOINED:
            work.tx.groups.add_members(move.group_id, [warning_id])
        matched = self.routes[move.route_id]
        if group is not None:
            return on_member_change(group, matched, now=work.now)
        return None if move.key is None else new_group(move.key, matched, now=work.now)

    def _inhibitable(self, work: Pass, changed: Sequence[Warning]) -> list[str]:
        """Open warnings a changed warning may have begun or ceased to inhibit: those in the
        regions below it and on the assets that depend on its asset (per the rules' scopes)."""
        scopes = {r.scope for r in self.config.inhibit_rules}
        below_region: set[str] = set()
        regions: set[str] = set()
        assets: set[str] = set()
        for w in changed:
            below_region.update(self.targets.regions_below(w.region))
            asset = self.targets.asset_of(w)
            if asset and InhibitScope.DEPENDENT_ASSET in scopes:
                below = self.targets.dependants_of(asset)
                assets |= below
                regions |= self.targets.asset_regions(below)
        if InhibitScope.REGION_SUBTREE in scopes:
            regions |= below_region
        if not regions:
            return []
        found = work.tx.warnings.open_in_regions(list(regions))
        return [
            w.id
            for w in found
            if w.region in below_region or work.target(w).labels.get("asset", "") in assets
        ]

    def _wake(
        self,
        work: Pass,
        warning_ids: Sequence[str],
        *,
        touched: dict[str, AggregationGroup],
        at: datetime | None = None,
    ) -> None:
        """Wake the groups of these warnings (a suppression over them may begin or end at `at`,
        default now): each is evaluated then, as after a member change; added to `touched`."""
        if not warning_ids:
            return
        ids = sorted({g for gs in work.tx.groups.groups_of(warning_ids).values() for g in gs})
        stored = work.tx.groups.get_many([g for g in ids if g not in touched])
        for gid in ids:
            group = touched.get(gid) or stored.get(gid)
            if group is not None:
                on = self.routes.get(group.route_id, self.config.root)
                touched[gid] = wake(group, on, at=at or work.now)
                work.tx.groups.save(touched[gid])

    # -- 5 escalate: start and stop ------------------------------------------------------------
    def _start_or_stop_escalations(
        self, work: Pass, rows: Sequence[FeedRow], *, warnings: Mapping[str, Warning]
    ) -> None:
        """Start an escalation when a warning is raised or upgraded (and still active), stop
        it when the warning is acknowledged or lifted; in feed order."""
        stored = work.tx.escalations.get_many(sorted(warnings))
        running: dict[str, Escalation | None] = {w: stored.get(w) for w in warnings}
        for row in rows:
            warning = warnings.get(row.warning_id)
            if warning is None:
                continue
            kind = EventKind(row.kind)
            decision = self._escalation_change(
                work, kind, warning=warning, current=running[warning.id]
            )
            if decision is not None:
                running[warning.id] = decision.escalation
                work.tx.escalations.save(decision.escalation)

    def _escalation_change(
        self, work: Pass, kind: EventKind, *, warning: Warning, current: Escalation | None
    ) -> EscalationDecision | None:
        if kind not in STARTED_BY:
            return stop(current, kind, now=work.now)
        if warning.state is not WarningState.ACTIVE:
            return None
        policy = policy_for(work.target(warning), self.config.escalation)
        if policy is None:
            return None
        chain = self.targets.chain(warning.region, warning.domain)
        return start(warning.id, policy, chain=chain, now=work.now)

    # -- 2 inhibit, 3 silence and mute, 4 group and flush --------------------------------------
    @staticmethod
    def _due_groups(work: Pass, touched: Mapping[str, AggregationGroup]) -> list[AggregationGroup]:
        """Groups due now: stored ones and those this pass rescheduled (group_wait 0)."""
        due = {g.id: g for g in work.tx.groups.due(work.now, FLUSH_BATCH)}
        due.update(touched)  # this pass's versions replace the stored ones
        return [
            g for g in due.values() if g.state.next_flush_at and g.state.next_flush_at <= work.now
        ]

    def _flush(
        self, work: Pass, due: Sequence[AggregationGroup], *, known: Mapping[str, Warning]
    ) -> None:
        """Evaluate each due group: who is suppressed, what the flush decides, the outbox.
        (`known`: warnings this pass has read already.)"""
        if not due:
            return
        members = work.tx.groups.members_of([g.id for g in due])
        wanted = {w for g in due for w in [*members[g.id], *g.state.notified]}
        warnings = {w: known[w] for w in wanted if w in known}
        warnings.update(work.tx.warnings.by_ids(sorted(wanted - warnings.keys())))
        suppressed = self._suppressed(work, [w for w in warnings.values() if w.is_open])
        for group in due:
            self._flush_one(
                work, group, members=members[group.id], warnings=warnings, suppressed=suppressed
            )

    def _flush_one(
        self,
        work: Pass,
        group: AggregationGroup,
        *,
        members: Sequence[str],
        warnings: Mapping[str, Warning],
        suppressed: Mapping[str, tuple[str, ...]],
    ) -> None:
        """One group: decide, notify, drop lifted (and vanished) members, keep or forget it."""
        on = self.routes.get(group.route_id, self.config.root)
        present = [warnings[i] for i in members if i in warnings]
        decision = evaluate_group(
            group.state,
            [member_of(w, suppressed_by=suppressed.get(w.id, ())) for w in present],
            work.now,
            timing=on.timing,
            muted_by=muted_by(on.mute_windows, dict(self.config.mute_windows), work.now),
            versions={i: version_of(warnings[i]) for i in group.state.notified if i in warnings},
            polled=bool(on.mute_windows),
        )
        if decision.notify:
            work.write(self._compose(flush_message(group, decision, warnings=warnings), work.now))
        vanished = {i for i in members if i not in warnings}
        work.tx.groups.remove_members(group.id, sorted(set(decision.drop) | vanished))
        if decision.finished:
            work.tx.groups.delete(group.id)
        else:
            work.tx.groups.save(replace(group, state=decision.state))

    def _suppressed(self, work: Pass, warnings: Sequence[Warning]) -> dict[str, tuple[str, ...]]:
        """Stages 2 and 3 for each warning: the silences and inhibiting warnings (computed,
        never stored)."""
        targets = [work.target(w) for w in warnings]
        if not targets:
            return {}
        silences = work.tx.silences.find(now=work.now, include_expired=False)
        regions = source_regions(targets, self.targets.asset_regions)
        sources = [work.target(w) for w in work.tx.warnings.open_in_regions(regions)]
        rules = self.config.inhibit_rules
        return {
            t.warning_id: suppress(
                t, silences=silences, sources=sources, rules=rules, now=work.now
            ).by
            for t in targets
        }

    # -- 5 escalate: steps ---------------------------------------------------------------------
    def _escalate(self, work: Pass, due: Sequence[Escalation]) -> int:
        """Take, postpone, close or finish each due escalation; return the steps taken."""
        if not due:
            return 0
        warnings = work.tx.warnings.by_ids([e.warning_id for e in due])
        active = {i: w for i, w in warnings.items() if w.state is WarningState.ACTIVE}
        suppressed = self._suppressed(work, list(active.values()))
        steps = 0
        for esc in due:
            warning = active.get(esc.warning_id)
            held = bool(suppressed.get(esc.warning_id))
            decision = on_due(esc, active=warning is not None, suppressed=held, now=work.now)
            work.tx.escalations.save(decision.escalation)
            if warning is not None and decision.step is not None:
                message = step_message(warning, esc, step=decision.step, now=work.now)
                work.write(self._compose(message, work.now))
                chain = self.targets.chain(warning.region, warning.domain)
                responsible = chain[0] if chain else None
                work.tx.audit.append(
                    [
                        step_record(
                            warning, esc, step=decision.step, responsible=responsible, now=work.now
                        )
                    ]
                )
                steps += 1
        return steps

    # -- silences ------------------------------------------------------------------------------
    def _notice_ended_silences(self, work: Pass, *, touched: dict[str, AggregationGroup]) -> int:
        """Tell each ended silence's scope that it ended (and audit a silence that ran out);
        wake the groups of the warnings it held back."""
        ended = work.tx.silences.ended_unnoticed(work.now)
        for silence in ended:
            work.write(self.silence_notice(silence, SilenceNotice.EXPIRED, now=work.now))
            work.tx.silences.mark_noticed(silence.id)
            if silence.expired_by is None:  # nobody ended it: it ran out
                work.tx.audit.append([ran_out(silence)])
            self._wake(work, self._silenced(work, silence), touched=touched)
        return len(ended)

    def _silenced(self, work: Pass, silence: Silence) -> list[str]:
        """The open warnings a silence matches (whatever its times)."""
        sel = silence.selector
        regions = self.targets.subtree(sel.region) if sel.region else self.targets.all_regions
        found = work.tx.warnings.open_in_regions(regions)
        return [w.id for w in found if sel.matches(work.target(w))]

    def wake_for_silence(self, tx: AlertingSession, silence: Silence, *, now: datetime) -> None:
        """A silence was created: wake the groups of the warnings it matches when it starts
        (they leave their next notification; when it ends they are notified again)."""
        work = Pass(tx, now, self.handoff, self.targets)
        self._wake(work, self._silenced(work, silence), touched={}, at=silence.starts_at)

    def silence_notice(
        self, silence: Silence, what: SilenceNotice, *, now: datetime
    ) -> list[Notification]:
        """Notifications telling the silence's scope that it was created or has expired:
        the receivers configured for all notices and the unit responsible for its region."""
        receivers = list(self.config.silence_notices_to)
        sel = silence.selector
        if sel.region is not None:
            receivers += self.targets.chain(sel.region, sel.domain or "")[:1]
        messages = notice_messages(silence, what, receivers=receivers, now=now)
        return [n for m in messages for n in self._compose(m, now)]

    # -- 6 outbox ------------------------------------------------------------------------------
    def _compose(self, message: Message, now: datetime) -> list[Notification]:
        """One notification per address of the message's receiver."""
        addresses = addresses_of(message.receiver, named=self.config.receivers, units=self.units)
        if not addresses:
            log.warning("receiver has no address", extra={"receiver": message.receiver})
        return compose(message, addresses, now=now)

    # -- questions -----------------------------------------------------------------------------
    def next_due(self) -> datetime | None:
        """When the next group evaluation or escalation step is due (for schedulers that sleep
        until then)."""
        with self.store.transaction() as tx:
            times = [tx.groups.next_due(), tx.escalations.next_due()]
        return min((t for t in times if t is not None), default=None)

    def notification_log(
        self,
        *,
        principal: Principal,
        warning_id: str | None = None,
        status: str | None = None,
        limit: int = 200,
    ) -> list[Notification]:
        """The notifications the principal may see, newest first, their addresses redacted.

        A notification is seen when the principal sees every warning it names (a silence
        notice: the silence's region and domain); a scoped principal's log is read from the
        newest `limit` × 10 rows (at most 10,000) and then narrowed."""
        require(principal, Permission.READ)
        wide = limit if principal.scope.national else min(limit * 10, 10_000)
        with self.store.transaction() as tx:
            found = tx.outbox.find(warning_id=warning_id, status=status, limit=wide)
            if not principal.scope.national:
                ids = sorted({i for n in found for i in n.warning_ids})
                places = {
                    i: Placement(w.region, w.domain) for i, w in tx.warnings.by_ids(ids).items()
                }
                found = [n for n in found if sees_notification(principal, n, places)]
        return [redacted(n) for n in found[:limit]]

    def explain_delivery(
        self, warning: Warning, now: datetime, *, principal: Principal
    ) -> dict[str, Any]:
        """Where a warning goes, what suppresses it now, its escalation and notifications
        (addresses redacted)."""
        require(principal, Permission.READ)
        place = Placement(warning.region, warning.domain)
        require_place(principal, place, action=f"reading the delivery of warning {warning.id}")
        target = self.targets.target(warning)
        with self.store.transaction() as tx:
            work = Pass(tx, now, self.handoff, self.targets)
            suppressed = self._suppressed(work, [warning])[warning.id]
            suppressed = shown_suppressors(tx, principal, suppressed)
            escalation = tx.escalations.get(warning.id)
            notes = tx.outbox.find(warning_id=warning.id, limit=500)
        windows = dict(self.config.mute_windows)
        routes = [
            {
                "route": r.id,
                "receiver": group_key(r, target).receiver,
                "group_by": list(r.group_by),
                "muted_by": list(muted_by(r.mute_windows, windows, now)),
            }
            for r in match_routes(self.config.root, target)
        ]
        return {
            "warning_id": warning.id,
            "routes": routes,
            "suppressed_by": list(suppressed),
            "responsible_chain": list(self.targets.chain(warning.region, warning.domain)),
            "escalation": None if escalation is None else escalation.as_json(),
            "notifications": [log_entry(redacted(n)) for n in notes],
        }
