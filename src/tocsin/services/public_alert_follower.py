"""Public alerts follow their warnings: upgrades and downgrades draft an Update, a lift drafts
a Cancel (or an all-clear Update), and configuration may publish them at once.

`PublicAlertFollower.tick(now)` reads the committed warning transitions from its own position
in the change feed (`AlertingSession.cap_feed`: the dispatcher keeps another) and, per warning
touched, compares the warning with its public alerts:

- lifted: drafts not yet published are withdrawn; a published alert gets its ending drafted
  (Cancel, or Update with responseType AllClear as `lift_as` says);
- another level than the published alert's: an Update is drafted (a pending draft at the old
  level is withdrawn and replaced);
- raised with nothing published: nothing, unless `auto_publish` names the (domain, level) —
  drafting is an issuer's decision.

A thread started by configuration (auto-published) is continued by it; anything else waits for
a second person's approval. Feed position, drafts, publications, audit records and
subscribers' notifications commit together; a crash repeats the pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from tocsin.core.audit import AuditRecord
from tocsin.core.cap.config import CapConfig, LiftAs
from tocsin.core.cap.drafting import ending
from tocsin.core.cap.lifecycle import (
    PENDING,
    SUBJECT,
    AlertCommand,
    PublicAlert,
    apply,
    new_draft,
)
from tocsin.core.cap.message import MsgType, ResponseType
from tocsin.core.errors import InvalidInput
from tocsin.core.warnings.model import EventKind, Warning
from tocsin.core.warnings.outbox import Notification
from tocsin.ports import AlertingSession, AlertingStore
from tocsin.ports.public_alerts import AlertQuery
from tocsin.services.public_alerts import PublicAlertService, latest_published
from tocsin.services.publication import Choices

log = logging.getLogger(__name__)

DRAFTER = "system:public-alerts"  # drafts what a warning's change asks for
AUTO = "system:auto-publish"  # approves and publishes what cap.yaml auto_publish names


@dataclass
class FollowReport:
    """What one tick did."""

    transitions: int = 0
    drafted: int = 0
    published: int = 0
    withdrawn: int = 0
    handed: list[Notification] = field(default_factory=list)


@dataclass(frozen=True)
class PublicAlertFollower:
    """Keeps public alerts in step with their warnings."""

    store: AlertingStore
    alerts: PublicAlertService
    config: CapConfig
    batch: int = 500

    def tick(self, now: datetime) -> FollowReport:
        """Follow every committed warning transition, one transaction per batch."""
        report = FollowReport()
        while True:
            with self.store.transaction() as tx:
                rows = tx.cap_feed.read(self.batch)
                kinds: dict[str, set[str]] = {}
                for row in rows:
                    kinds.setdefault(row.warning_id, set()).add(row.kind)
                changed = [w for w, seen in kinds.items() if seen != {EventKind.ACKNOWLEDGED.value}]
                spoken_of = tx.public_alerts.about(changed)  # in a storm: few or none
                # a warning no public alert is about matters only where configuration
                # publishes automatically: without such a rule, it is not even read
                wanted = changed if self.config.auto_publish else sorted(spoken_of)
                warnings = tx.warnings.by_ids(wanted)
                for warning_id in changed:
                    if warning_id in warnings:
                        known = warning_id in spoken_of
                        self._follow(tx, warnings[warning_id], known=known, now=now, report=report)
                if rows:
                    tx.cap_feed.advance([r.id for r in rows])
            report.transitions += len(rows)
            self.alerts.publisher.handoff.put(report.handed)
            report.handed = []
            if len(rows) < self.batch:
                return report

    def _follow(
        self,
        tx: AlertingSession,
        warning: Warning,
        *,
        known: bool,
        now: datetime,
        report: FollowReport,
    ) -> None:
        """Draft, redraft, withdraw or end the public alerts of one warning; `known` says
        whether any public alert is about it (when none is, there is nothing to look up)."""
        pending: list[PublicAlert] = []
        current: PublicAlert | None = None
        if known:
            query = AlertQuery(states=tuple(PENDING), warning_id=warning.id)
            pending = tx.public_alerts.find(query)
            current = latest_published(tx, warning.id)
        if current is not None and current.msg_type is MsgType.CANCEL:
            current = None  # ended already: a new rise starts a new thread
        if not warning.is_open:
            self._withdraw(tx, pending, why="the warning was lifted", now=now, report=report)
            if current is not None and not _ended(current):
                self._end(tx, current, warning=warning, now=now, report=report)
            return
        if current is not None and current.level is warning.level and not pending:
            return
        if pending and all(p.level is warning.level for p in pending):
            return
        chain = self.alerts.drafter.chain(warning.domain)
        auto = self.config.auto_publishes(chain, warning.level) or bool(current and current.auto)
        if current is None and not pending and not auto:
            return
        why = f"the warning is now {warning.level.value}"
        self._withdraw(tx, pending, why=f"{why}; redrafted", now=now, report=report)
        draft = self.alerts.new_draft(
            tx, warning=warning, actor=DRAFTER, choices=Choices(), reason=why, now=now
        )
        report.drafted += 1
        if auto:
            self._auto_publish(tx, draft, now=now, report=report)

    def _end(
        self,
        tx: AlertingSession,
        current: PublicAlert,
        *,
        warning: Warning,
        now: datetime,
        report: FollowReport,
    ) -> None:
        """Draft (and, for an automatic thread, publish) the message that ends `current`."""
        drafter = self.alerts.drafter
        message = ending(
            current.message,
            identifier=drafter.identifier(now),
            config=self.config,
            all_clear=self.config.lift_as is LiftAs.ALL_CLEAR,
            now=now,
        )
        draft, record = new_draft(
            message,
            thread=current.thread,
            regions=current.regions,
            domain=current.domain,
            level=current.level,
            author=DRAFTER,
            warning_id=warning.id,
            reason="the warning was lifted",
            now=now,
        )
        tx.public_alerts.add(draft)
        tx.audit.append([record])
        report.drafted += 1
        chain = drafter.chain(current.domain)
        if current.auto or self.config.auto_publishes(chain, current.level):
            self._auto_publish(tx, draft, now=now, report=report)

    def _auto_publish(
        self, tx: AlertingSession, draft: PublicAlert, *, now: datetime, report: FollowReport
    ) -> None:
        """Submit, approve and publish as configuration says; a draft that fails a check
        stays a draft, and the refusal is audited."""
        why = "auto_publish in cap.yaml"
        submitted, r1 = apply(draft, AlertCommand.SUBMIT, actor=AUTO, reason=why, now=now)
        approved, r2 = apply(submitted, AlertCommand.APPROVE, actor=AUTO, reason=why, now=now)
        publisher = self.alerts.publisher
        _, problems = publisher.check(publisher.stamped(tx, approved, now=now))
        if problems:
            log.warning("auto-publication refused", extra={"alert": draft.identifier})
            details = {"command": "publish", "problems": [str(p) for p in problems[:50]]}
            reason = f"auto-publication refused: {len(problems)} problem(s)"
            kind = f"{SUBJECT}.refused"
            record = AuditRecord(now, AUTO, kind, SUBJECT, draft.identifier, reason, details)
            tx.audit.append([record])
            return
        tx.audit.append([r1, r2])
        try:
            _, out = publisher.publish(tx, approved, actor=AUTO, reason=why, now=now, auto=True)
        except InvalidInput:  # checked just above; kept for the record
            log.exception("auto-publication failed", extra={"alert": draft.identifier})
            return
        report.published += 1
        report.handed += out.handed

    @staticmethod
    def _withdraw(
        tx: AlertingSession,
        pending: list[PublicAlert],
        *,
        why: str,
        now: datetime,
        report: FollowReport,
    ) -> None:
        for alert in pending:
            withdrawn, record = apply(
                alert, AlertCommand.WITHDRAW, actor=DRAFTER, reason=why, now=now
            )
            tx.public_alerts.save(withdrawn)
            tx.audit.append([record])
            report.withdrawn += 1


def _ended(alert: PublicAlert) -> bool:
    """True when a published message already ends its thread (Cancel or all-clear)."""
    if alert.msg_type is MsgType.CANCEL:
        return True
    return any(ResponseType.ALL_CLEAR in i.response_types for i in alert.message.infos)
