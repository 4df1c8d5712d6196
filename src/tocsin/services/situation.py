"""Situation reports: the facts of an incident or a region at a moment, gathered within the
reader's scope, issued on demand or on the plan's schedule and kept as issued.

The facts are plain JSON (`SituationFacts` keys below): the affected regions with their worst
level (the map), open warnings and their counts by level, the series of the key indicators
(those the incident's warnings are about) with their thresholds, tasks and their status by
unit, the public alerts, events and public reports linked, and the latest of the timeline.
Rendering them as HTML and PDF, with the map and charts drawn on the server, is an adapter's
work (`tocsin.adapters.reports`); a stored report renders the same every time.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from tocsin.core.access import (
    Placement,
    Principal,
    Scope,
    require,
    require_place,
    sees,
    system_principal,
    visible,
)
from tocsin.core.audit import AuditRecord
from tocsin.core.errors import Forbidden, NotFound
from tocsin.core.incidents.model import Incident, IncidentState, LinkKind, incident_fields
from tocsin.core.incidents.reminders import SYSTEM_ACTOR, task_json
from tocsin.core.incidents.tasks import Task, is_overdue
from tocsin.core.incidents.trail import INCIDENT
from tocsin.core.levels import LEVELS, Level
from tocsin.core.regions import RegionCode
from tocsin.core.users import Permission
from tocsin.core.warnings.dedup import idempotency_key
from tocsin.core.warnings.model import Warning
from tocsin.core.warnings.outbox import Message, NotificationKind
from tocsin.ports import IncidentFilter, ResponseStore, Store, StoredReport, WarningFilter
from tocsin.services.delivery import Handoff
from tocsin.services.incident_scope import task_place
from tocsin.services.incidents import IncidentService, incident_place
from tocsin.services.indicators import IndicatorService
from tocsin.services.response_pass import ResponseContext, response_pass

log = logging.getLogger(__name__)

KEY_INDICATORS: Final = 6
SERIES_POINTS: Final = 400
SERIES_WINDOW: Final = timedelta(hours=48)
TIMELINE: Final = 40
REGION = "region"
PUBLIC_ALERT, REPORT = LinkKind.PUBLIC_ALERT, LinkKind.REPORT


def report_id(kind: str, subject: str, *, at: datetime) -> str:
    """A report's id, derived from its subject and moment (issuing it again finds it)."""
    raw = "\x1f".join((kind, subject, at.isoformat())).encode()
    return hashlib.sha256(raw).hexdigest()[:24]


def _warning_json(w: Warning) -> dict[str, Any]:
    return {
        "id": w.id,
        "region": w.region,
        "domain": w.domain,
        "level": w.level.value,
        "state": w.state.value,
        "subject": w.subject,
        "name": str(w.explanation.get("name") or w.subject),
        "first_seen_at": w.first_seen_at.isoformat(),
    }


def held(facts: Mapping[str, Any]) -> list[tuple[str, Placement]]:
    """Where the warnings, tasks and incidents a report holds sit: a stored report is shown
    whole, to a principal whose scope holds all of them (it was gathered for its issuer's
    scope)."""
    return [
        (f"{kind}[{i}]", Placement(x.get("region"), x.get("domain")))
        for kind in ("warnings", "tasks", "incidents")
        for i, x in enumerate(facts.get(kind) or [])
    ]


def _by_level(warnings: Sequence[Warning]) -> dict[str, int]:
    counts = Counter(w.level.value for w in warnings if w.is_open)
    return {lv.value: counts.get(lv.value, 0) for lv in LEVELS}


def _by_unit(tasks: Sequence[Task], now: datetime) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for t in tasks:
        row = out.setdefault(t.unit, {})
        row[t.state.value] = row.get(t.state.value, 0) + 1
        if t.is_open and is_overdue(t, now):
            row["overdue"] = row.get("overdue", 0) + 1
    return dict(sorted(out.items()))


def _record_json(r: AuditRecord) -> dict[str, Any]:
    return {"at": r.at.isoformat(), "kind": r.kind, "actor": r.actor, "reason": r.reason}


@dataclass(frozen=True)
class SituationService:
    """Gathers, issues and keeps situation reports."""

    store: ResponseStore
    foundation: Store
    context: ResponseContext
    incidents: IncidentService
    indicators: IndicatorService
    handoff: Handoff

    # -- facts ---------------------------------------------------------------------------------
    def incident_facts(self, incident_id: str, *, principal: Principal) -> dict[str, Any]:
        """The situation of an incident now, as the principal may see it."""
        incident = self.incidents.get(incident_id, principal=principal)  # links in scope
        now = self.incidents.runtime.clock.now()
        with self.store.transaction() as tx:
            linked = tx.warnings.by_ids(incident.linked(LinkKind.WARNING))
        tasks = self.incidents.tasks(incident_id, principal=principal)
        timeline = self.incidents.timeline(incident_id, principal=principal)
        warnings = sorted(linked.values(), key=lambda w: (-w.level.rank, w.first_seen_at))
        affected = sorted({incident.region, *(w.region for w in warnings)})
        return {
            "kind": INCIDENT,
            "title": f"Situation report: {incident.title}",
            "as_of": now.isoformat(),
            "incident": _incident_json(incident),
            "map": self._map(affected, warnings),
            "warnings": [_warning_json(w) for w in warnings],
            "by_level": _by_level(warnings),
            "indicators": self._indicators(warnings, principal=principal, now=now),
            "tasks": [task_json(t) | {"overdue": t.is_open and is_overdue(t, now)} for t in tasks],
            "by_unit": _by_unit(tasks, now),
            "incidents": [],
            "public_alerts": incident.linked(LinkKind.PUBLIC_ALERT),
            "public_reports": incident.linked(LinkKind.REPORT),
            "events": incident.linked(LinkKind.EVENT),
            "timeline": [_record_json(r) for r in timeline[-TIMELINE:]],
        }

    def region_facts(self, region: str, *, principal: Principal) -> dict[str, Any]:
        """The situation of a region's subtree now: its open warnings and incidents in scope."""
        self._require_region(principal, region)
        tree = self.context.catalog.regions
        now = self.incidents.runtime.clock.now()
        subtree = tuple(tree.subtree(RegionCode(region)))
        query = WarningFilter(regions=subtree, scope=principal.scope, limit=2000)
        with self.foundation.transaction() as tx:
            warnings = tx.warning_search.find(query)
        incidents = self.incidents.find(principal=principal, region=region, limit=200)
        with self.store.transaction() as tx:
            by_incident = tx.tasks.of_incidents([i.id for i in incidents])
        every = [t for i in incidents for t in by_incident[i.id]]
        tasks = visible(principal, every, task_place)  # an incident in scope, a task not
        affected = sorted({w.region for w in warnings} | {i.region for i in incidents})
        return {
            "kind": REGION,
            "title": f"Situation report: {tree.regions[RegionCode(region)].name}",
            "as_of": now.isoformat(),
            "region": region,
            "incident": None,
            "map": self._map(affected or [region], warnings, around=region),
            "warnings": [_warning_json(w) for w in warnings],
            "by_level": _by_level(warnings),
            "indicators": self._indicators(warnings, principal=principal, now=now),
            "tasks": [task_json(t) | {"overdue": t.is_open and is_overdue(t, now)} for t in tasks],
            "by_unit": _by_unit(tasks, now),
            "incidents": [_incident_json(i) for i in incidents],
            "public_alerts": sorted(
                {a for i in incidents for a in i.linked(LinkKind.PUBLIC_ALERT)}
            ),
            "public_reports": sorted({a for i in incidents for a in i.linked(LinkKind.REPORT)}),
            "events": [],
            "timeline": [],
        }

    def _require_region(self, principal: Principal, region: str) -> None:
        """READ, a known region, and a scope that holds the region (in some domain)."""
        require(principal, Permission.READ)
        if region not in self.context.catalog.regions:
            raise NotFound(f"unknown region {region!r}")
        anywhere = replace(principal, scope=Scope(principal.scope.regions, None, "its regions"))
        require_place(anywhere, Placement(region, None), action=f"reporting on region {region}")

    def _map(
        self, affected: Sequence[str], warnings: Sequence[Warning], *, around: str | None = None
    ) -> dict[str, Any]:
        """The regions to draw: the affected ones with their worst open level, and their
        siblings (or the children of `around`) as the background."""
        tree = self.context.catalog.regions
        worst: dict[str, Level] = {}
        for w in warnings:
            if w.is_open and (w.region not in worst or w.level.rank > worst[w.region].rank):
                worst[w.region] = w.level
        context: set[str] = set()
        parents = {tree.regions[RegionCode(a)].parent for a in affected if a in tree}
        if around is not None:
            parents = {RegionCode(around)}
        for parent in parents:
            if parent is not None:
                context.update(tree.children.get(parent, ()))
        codes = sorted(set(affected) | context)
        return {
            "regions": [
                {
                    "code": c,
                    "name": tree.regions[RegionCode(c)].name if c in tree else c,
                    "level": worst[c].value if c in worst else None,
                    "affected": c in affected,
                }
                for c in codes
            ]
        }

    def _indicators(
        self, warnings: Sequence[Warning], *, principal: Principal, now: datetime
    ) -> list[dict[str, Any]]:
        """Series of the indicators the warnings are about (the most severe first)."""
        codes = list(
            dict.fromkeys(w.subject for w in warnings if w.subject in self.indicators.rules.ids)
        )
        out = []
        since = int((now - SERIES_WINDOW).timestamp())
        for code in codes[:KEY_INDICATORS]:
            try:
                ind = self.indicators.indicator(code, principal=principal)
                batch = self.indicators.series(code, principal=principal, since=since)
            except (NotFound, Forbidden):
                continue
            step = max(1, len(batch) // SERIES_POINTS)
            thresholds = {lv.value: ind.thresholds.for_level(lv) for lv in LEVELS}
            out.append(
                {
                    "code": code,
                    "name": ind.name,
                    "unit": ind.unit,
                    "thresholds": {k: v for k, v in thresholds.items() if v is not None},
                    "times": batch.times[::step].tolist(),
                    "values": [float(v) for v in batch.values[::step]],
                }
            )
        return out

    # -- issued reports ------------------------------------------------------------------------
    def issue(
        self, kind: str, subject: str, *, principal: Principal, reason: str = ""
    ) -> StoredReport:
        """Gather the facts now and keep them as a report (audited on an incident's timeline)."""
        facts = (
            self.incident_facts(subject, principal=principal)
            if kind == INCIDENT
            else self.region_facts(subject, principal=principal)
        )
        now = self.incidents.runtime.clock.now()
        report = StoredReport(
            report_id(kind, subject, at=now),
            kind,
            subject,
            now,
            principal.name,
            facts["title"],
            facts,
        )
        with response_pass(self.store, now, context=self.context, handoff=self.handoff) as work:
            work.tx.situation_reports.add(report)
            if kind == INCIDENT:
                work.records.append(_issued(report, reason or "issued on demand"))
        return report

    def get(self, report_id_: str, *, principal: Principal) -> StoredReport:
        """A stored report (scoped like its subject)."""
        require(principal, Permission.READ)
        with self.store.transaction() as tx:
            found = tx.situation_reports.get(report_id_)
        if found is None:
            raise NotFound(f"no situation report {report_id_!r}")
        action = f"reading situation report {report_id_}"
        with self.store.transaction() as tx:
            subject = tx.incidents.get(found.subject_id) if found.subject_kind == INCIDENT else None
        if found.subject_kind != INCIDENT:
            self._require_region(principal, found.subject_id)
        elif subject is not None:
            require_place(principal, incident_place(subject), action=action)
        outside = self._outside(principal, found.facts)
        if outside:
            raise Forbidden(
                f"{action}: it holds {', '.join(outside[:10])}, outside the scope of "
                f"{principal.name} ({principal.scope.named}); refused"
            )
        return found

    def find(self, kind: str, subject: str, *, principal: Principal) -> list[StoredReport]:
        """A subject's stored reports the principal may open (`get`), newest first: one that
        holds a warning, task, incident, public alert or report outside the principal's scope
        is not listed."""
        if kind == INCIDENT:
            self.incidents.get(subject, principal=principal)
        else:
            self._require_region(principal, subject)
        with self.store.transaction() as tx:  # the listing carries no facts: read each's
            found = tx.situation_reports.find(kind, subject, limit=100)
            facts = {r.id: tx.situation_reports.get(r.id) for r in found}
        return [
            r
            for r in found
            if (full := facts[r.id]) is not None and not self._outside(principal, full.facts)
        ]

    def _outside(self, principal: Principal, facts: Mapping[str, Any]) -> list[str]:
        """What a stored report holds outside the principal's scope: warnings, tasks and
        incidents by their place, the public alerts and reports it names by theirs."""
        outside = [w for w, place in held(facts) if not sees(principal.scope, place)]
        named = {
            f"{key}[{i}]": (link.value, str(ref))
            for key, link in (("public_alerts", PUBLIC_ALERT), ("public_reports", REPORT))
            for i, ref in enumerate(facts.get(key) or [])
        }
        if named and self.incidents.linked is not None:
            hidden = self.incidents.linked.hidden(principal, named.values())
            outside += [where for where, link in named.items() if link in hidden]
        return outside

    def issue_scheduled(self, now: datetime) -> int:
        """Issue the reports due at `now`: each active incident whose plan sets `report_every`
        gets one when its newest is that old (its lead unit is told). Returns how many."""
        system = _system()
        query = IncidentFilter(states=(IncidentState.ACTIVE.value,), limit=1000)
        with self.store.transaction() as tx:
            active = tx.incidents.find(query)
            latest = tx.situation_reports.latest(INCIDENT, [i.id for i in active])
        issued = 0
        for incident in active:
            plan = self.context.plans.get(incident.plan) if incident.plan else None
            if plan is None or plan.report_every is None:
                continue
            since = latest.get(incident.id) or incident.activated_at or incident.opened_at
            if since + plan.report_every > now:
                continue
            self._scheduled(incident, system=system, now=now)
            issued += 1
        return issued

    def _scheduled(self, incident: Incident, *, system: Principal, now: datetime) -> None:
        facts = self.incident_facts(incident.id, principal=system)
        report = StoredReport(
            report_id(INCIDENT, incident.id, at=now),
            INCIDENT,
            incident.id,
            now,
            SYSTEM_ACTOR,
            facts["title"],
            facts,
        )
        with response_pass(self.store, now, context=self.context, handoff=self.handoff) as work:
            work.tx.situation_reports.add(report)
            work.records.append(_issued(report, "issued on the plan's schedule"))
            if incident.lead_unit:
                work.messages.append(_report_message(report, incident, to=incident.lead_unit))


def _system() -> Principal:
    return system_principal(SYSTEM_ACTOR)


def _issued(report: StoredReport, reason: str) -> AuditRecord:
    return AuditRecord(
        report.created_at,
        report.created_by,
        "incident.report_issued",
        INCIDENT,
        report.subject_id,
        reason,
        {"report": report.id, "title": report.title},
    )


def _report_message(report: StoredReport, incident: Incident, *, to: str) -> Message:
    return Message(
        key=idempotency_key("report", report.id, to),
        kind=NotificationKind.REPORT,
        reason="situation report issued on the plan's schedule",
        receiver=to,
        labels={"region": incident.region, "domain": incident.domain},
        subject=f"[SITREP] {incident.title} ({report.created_at:%Y-%m-%d %H:%M} UTC)",
        extra={
            "report": {"id": report.id, "title": report.title, "incident": incident.id},
            "path": f"/api/v1/situation-reports/{report.id}",
        },
    )


def _incident_json(x: Incident) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, datetime) else v for k, v in incident_fields(x).items()
    }
