"""Prometheus ingest: alerts posted as to Alertmanager (`POST /api/v2/alerts`) become warnings.

Each Prometheus alert needs the labels `region` and `domain` (a region and a domain of the
catalogue) and a level: the label `level` (blue, yellow, orange, red) or else `severity`
(critical -> red, error/high/major -> orange, warning/medium/minor -> yellow, info/low/none ->
blue; anything else -> yellow). Its identity (fingerprint) is its full label set, as in
Alertmanager. An alert whose `endsAt` is in the past lifts the warning; otherwise the warning is
raised, upgraded or downgraded to the alert's level, through the same lifecycle as every other
source (`source="prometheus"`). Invalid alerts are skipped and reported; valid ones are stored.

Posts that arrive together (a storm, posted on many connections) are stored together: each
post's valid alerts are queued for a group commit (commit_queue.py) and the post is answered once
the transaction holding them has committed, so an accepted alert is a stored one.

A `startsAt` later than the server's clock plus the allowed skew is invalid (as an observation
from the future is).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from tocsin.core.access import Placement, Principal, require, require_places
from tocsin.core.audit import from_warning_event
from tocsin.core.catalog import Catalog
from tocsin.core.domains import DomainCode
from tocsin.core.errors import Conflict, Problem
from tocsin.core.levels import Level
from tocsin.core.moments import ahead_reason
from tocsin.core.regions import RegionCode
from tocsin.core.users import Permission
from tocsin.core.warnings.model import Command, CommandKind, Place, WarningEvent, fingerprint
from tocsin.ports import Bus, Clock, Store
from tocsin.services.commit_queue import GroupCommit
from tocsin.services.ingest import MAX_AHEAD
from tocsin.services.publishing import warning_message
from tocsin.services.warning_changes import WarningChanges

log = logging.getLogger(__name__)

SEVERITY_LEVEL: dict[str, Level] = {
    "critical": Level.RED,
    "page": Level.RED,
    "error": Level.ORANGE,
    "high": Level.ORANGE,
    "major": Level.ORANGE,
    "warning": Level.YELLOW,
    "medium": Level.YELLOW,
    "minor": Level.YELLOW,
    "info": Level.BLUE,
    "low": Level.BLUE,
    "none": Level.BLUE,
}


@dataclass(frozen=True, slots=True)
class PrometheusAlert:
    """One alert as Prometheus posts it."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str = ""


@dataclass(frozen=True, slots=True)
class ReceiveResult:
    """What a post did."""

    accepted: int
    rejected: tuple[Problem, ...]
    events: tuple[WarningEvent, ...]


def level_of(labels: Mapping[str, str]) -> Level:
    """The warning level an alert's labels ask for."""
    explicit = labels.get("level", "").lower()
    if explicit in {lv.value for lv in Level}:
        return Level(explicit)
    return SEVERITY_LEVEL.get(labels.get("severity", "").lower(), Level.YELLOW)


def alert_fingerprint(labels: Mapping[str, str]) -> str:
    """The warning fingerprint of an alert: its whole label set."""
    canonical = ",".join(f"{k}={labels[k]}" for k in sorted(labels))
    return fingerprint("prometheus", canonical, labels.get("region", ""), labels.get("domain", ""))


@dataclass(frozen=True, slots=True)
class _Post:
    """One post's valid alerts and who posted them."""

    alerts: tuple[PrometheusAlert, ...]
    actor: str


@dataclass(frozen=True)
class AlertReceiverService:
    """Applies Prometheus alerts to warnings."""

    store: Store
    bus: Bus
    clock: Clock
    catalog: Catalog
    max_ahead: timedelta = MAX_AHEAD  # how far past the clock `startsAt` may lie
    commits: GroupCommit[_Post, list[WarningEvent]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "commits", GroupCommit(self._commit))

    def problems(self, i: int, alert: PrometheusAlert, *, now: datetime) -> list[Problem]:
        """Why an alert cannot become a warning."""
        where = f"alerts[{i}]"
        out: list[Problem] = []
        if alert.starts_at is not None and alert.starts_at > now + self.max_ahead:
            at, ahead = int(alert.starts_at.timestamp()), int(self.max_ahead.total_seconds())
            reason = ahead_reason(at, now=int(now.timestamp()), max_ahead=ahead)
            out.append(Problem(where, "startsAt", reason))
        region, domain = alert.labels.get("region"), alert.labels.get("domain")
        if not region:
            out.append(Problem(where, "labels.region", "required"))
        elif region not in self.catalog.regions:
            out.append(Problem(where, "labels.region", f"unknown region {region!r}"))
        if not domain:
            out.append(Problem(where, "labels.domain", "required"))
        elif DomainCode(domain) not in self.catalog.domains:
            out.append(Problem(where, "labels.domain", f"unknown domain {domain!r}"))
        return out

    def receive(self, alerts: Sequence[PrometheusAlert], *, principal: Principal) -> ReceiveResult:
        """Store the valid alerts' effect on warnings (with the posts arriving at the same
        time, in one transaction); publish after commit. Every valid alert must lie in the
        principal's scope (Forbidden otherwise, nothing stored)."""
        post, rejected = self._checked(alerts, principal=principal)
        events = self.commits.submit(post) if post.alerts else []
        return ReceiveResult(len(post.alerts), rejected, tuple(events))

    async def receive_async(
        self, alerts: Sequence[PrometheusAlert], *, principal: Principal
    ) -> ReceiveResult:
        """`receive` for an event loop: it waits for the commit without blocking the loop."""
        post, rejected = self._checked(alerts, principal=principal)
        events = await self.commits.submit_async(post) if post.alerts else []
        return ReceiveResult(len(post.alerts), rejected, tuple(events))

    def _checked(
        self, alerts: Sequence[PrometheusAlert], *, principal: Principal
    ) -> tuple[_Post, tuple[Problem, ...]]:
        """The valid alerts, as a post to commit, and the problems of the others (Forbidden
        when a valid one lies outside the principal's scope)."""
        require(principal, Permission.INGEST)
        now = self.clock.now()
        rejected: list[Problem] = []
        valid: list[PrometheusAlert] = []
        placed: list[tuple[str, Placement]] = []
        for i, alert in enumerate(alerts):
            problems = self.problems(i, alert, now=now)
            rejected += problems
            if not problems:
                valid.append(alert)
                placed.append((f"alerts[{i}]", _placement(alert)))
        require_places(principal, placed, action="receiving alerts")
        if rejected:  # answered with a 200, which Prometheus does not log: say it here
            first = rejected[0]
            log.warning(
                "Prometheus alerts from %s: %d of %d refused (first: %s %s: %s)",
                principal.name,
                len(alerts) - len(valid),
                len(alerts),
                first.where,
                first.field,
                first.reason,
            )
        return _Post(tuple(valid), principal.name), tuple(rejected)

    def _commit(self, posts: Sequence[_Post]) -> list[list[WarningEvent]]:
        """Apply posts in the order they arrived, in one transaction; each post's events. When
        another process (an API process beside this one, given the same alert by a load
        balancer) opened one of these warnings between this transaction's read and its write,
        the unique index refuses the second one: read again, and apply them to what it made."""
        try:
            return self._commit_once(posts)
        except Conflict:
            return self._commit_once(posts)

    def _commit_once(self, posts: Sequence[_Post]) -> list[list[WarningEvent]]:
        now = self.clock.now()
        per_post: list[list[WarningEvent]] = []
        with self.store.transaction() as tx:
            fps = [[alert_fingerprint(a.labels) for a in p.alerts] for p in posts]
            found = WarningChanges.load(tx, [fp for post in fps for fp in post])
            for post, post_fps in zip(posts, fps, strict=True):
                first = len(found.events)
                for alert, fp in zip(post.alerts, post_fps, strict=True):
                    _apply(alert, fp=fp, found=found, actor=post.actor, now=now)
                per_post.append(found.events[first:])
            events = found.save(tx)
            tx.audit.append([from_warning_event(e) for e in events])
        for event in events:
            self.bus.publish("warnings", warning_message(event))
        return per_post


def _apply(
    alert: PrometheusAlert, *, fp: str, found: WarningChanges, actor: str, now: datetime
) -> None:
    """Raise, change or lift the alert's warning (or only touch it: nothing changed)."""
    current = found.current(fp)
    level = level_of(alert.labels)
    if current is not None and level == current.level and not _resolved(alert, now):
        found.touch(fp, at=now)
        return
    command = _command(alert, level, actor=actor, now=now)
    found.apply(fp, command, at=now, place=partial(_place, alert))


def _placement(alert: PrometheusAlert) -> Placement:
    return Placement(alert.labels["region"], alert.labels["domain"])


def _place(alert: PrometheusAlert) -> Place:
    labels = alert.labels
    return Place(
        "prometheus",
        labels.get("alertname", "prometheus alert")[:256],
        RegionCode(labels["region"]),
        DomainCode(labels["domain"]),
        {k: str(v) for k, v in labels.items()},
    )


def _resolved(alert: PrometheusAlert, now: datetime) -> bool:
    return alert.ends_at is not None and alert.ends_at <= now


def _command(alert: PrometheusAlert, level: Level, *, actor: str, now: datetime) -> Command:
    """The command an alert asks for: lift when it has ended, else (raise to) its level."""
    name = alert.labels.get("alertname", "prometheus alert")
    summary = alert.annotations.get("summary") or alert.annotations.get("description") or name
    cause = {
        "alertname": name,
        "starts_at": (alert.starts_at or now).isoformat(),
        "reason": summary,
    }
    if _resolved(alert, now):
        return Command(CommandKind.LIFT, actor, f"{name} resolved", None, cause, None)
    explanation = {
        "rule": "prometheus",
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "generator_url": alert.generator_url,
        "level": level.value,
        "level_from": "level" if "level" in alert.labels else "severity",
    }
    return Command(CommandKind.RAISE, actor, summary, level, cause, explanation)
