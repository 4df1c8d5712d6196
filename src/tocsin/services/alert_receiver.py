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

As in Alertmanager, a firing alert holds until its `endsAt` (Prometheus sets it a few evaluation
intervals ahead and moves it on with every re-send), or for `RESOLVE_TIMEOUT` after its last post
when it has none: a warning whose alert was not posted again by then is lifted (`expire`, run
every `EXPIRY_INTERVAL` by the process that receives the posts, the holder of the rules lease:
services/background.py). So a Prometheus that stops, or a rule that is deleted, does not leave
its warnings open for ever. The span is kept in the warning's explanation (`valid_for_s`) and
counted from its `last_seen_at`, or from when the process began receiving if that is later:
while no process received posts (a server killed and restarting), the sender could not re-send,
and its alerts have not ended.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
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
from tocsin.core.warnings.model import (
    Command,
    CommandKind,
    Place,
    Warning,
    WarningEvent,
    fingerprint,
)
from tocsin.ports import Bus, Clock, Store
from tocsin.services.commit_queue import GroupCommit
from tocsin.services.ingest import MAX_AHEAD
from tocsin.services.publishing import warning_message
from tocsin.services.warning_changes import WarningChanges

log = logging.getLogger(__name__)

SOURCE = "prometheus"
RESOLVE_TIMEOUT = timedelta(minutes=5)  # Alertmanager's default, for an alert with no endsAt
EXPIRY_INTERVAL = timedelta(seconds=5)  # how often the receiving process looks for ended alerts
EXPIRY_ACTOR = "rule:prometheus (endsAt passed)"
SPAN = "valid_for_s"  # the explanation's key for the seconds an alert holds without a post

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
    return fingerprint(SOURCE, canonical, labels.get("region", ""), labels.get("domain", ""))


def valid_for(alert: PrometheusAlert, now: datetime) -> float:
    """Seconds a firing alert holds without another post: to its endsAt, or the resolve
    timeout when it has none."""
    if alert.ends_at is None:
        return RESOLVE_TIMEOUT.total_seconds()
    return max(0.0, (alert.ends_at - now).total_seconds())


def has_ended(warning: Warning, now: datetime, *, since: datetime | None = None) -> bool:
    """True when a Prometheus warning's alert was not posted again within its span, counted
    from its last post or from `since` (when posts could first be received again), if later."""
    return span_has_ended(warning.last_seen_at, warning.explanation.get(SPAN), now, since=since)


def span_has_ended(
    last_seen: datetime, span: object, now: datetime, *, since: datetime | None = None
) -> bool:
    """`has_ended` of a warning last seen at `last_seen` with the span `span` (seconds)."""
    if not isinstance(span, int | float):  # raised before spans were kept: never expires
        return False
    seen = last_seen if since is None else max(last_seen, since)
    return seen + timedelta(seconds=span) <= now


def _same_span(old: object, new: float) -> bool:
    """True when a re-send keeps the span (within 10 % or a second: Prometheus's endsAt moves
    with the moment it evaluated, and a storm delays its posts a little)."""
    return isinstance(old, int | float) and abs(new - old) <= max(1.0, 0.1 * old)


@dataclass(frozen=True, slots=True)
class _Post:
    """One post's valid alerts and who posted them."""

    alerts: tuple[PrometheusAlert, ...]
    actor: str
    ended: tuple[str, ...] = ()  # fingerprints to lift if their span has passed (expire)
    since: datetime | None = None  # the spans of `ended` count from here at the earliest


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

    def expire(self, *, since: datetime | None = None) -> int:
        """Lift the open Prometheus warnings whose alert was not posted again within its span
        (Alertmanager resolves an alert at its endsAt), counted from `since` at the earliest
        (when this process began receiving posts); how many were lifted. The span is checked
        again inside the commit, so a post that arrives meanwhile keeps its warning."""
        now = self.clock.now()
        with self.store.transaction() as tx:  # three columns a warning, not whole warnings
            spans = tx.warning_search.open_spans(SOURCE, SPAN)
        ended = tuple(
            fp for fp, (seen, span) in spans.items() if span_has_ended(seen, span, now, since=since)
        )
        if not ended:
            return 0
        return len(self.commits.submit(_Post((), EXPIRY_ACTOR, ended, since)))

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
            ended = [fp for p in posts for fp in p.ended]
            found = WarningChanges.load(tx, [fp for post in fps for fp in post] + ended)
            for post, post_fps in zip(posts, fps, strict=True):
                first = len(found.events)
                for alert, fp in zip(post.alerts, post_fps, strict=True):
                    _apply(alert, fp=fp, found=found, actor=post.actor, now=now)
                for fp in post.ended:
                    _lift_ended(fp, found=found, post=post, now=now)
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
        span = valid_for(alert, now)
        if _same_span(current.explanation.get(SPAN), span):
            found.touch(fp, at=now)
        else:  # a span of another length (no transition): keep it with the warning
            explanation = {**current.explanation, SPAN: span}
            found.keep(replace(current, explanation=explanation, last_seen_at=now), fp=fp)
        return
    command = _command(alert, level, actor=actor, now=now)
    found.apply(fp, command, at=now, place=partial(_place, alert))


def _lift_ended(fp: str, *, found: WarningChanges, post: _Post, now: datetime) -> None:
    """Lift the fingerprint's warning if its span has still passed (no post since)."""
    current = found.current(fp)
    if current is None or not has_ended(current, now, since=post.since):
        return
    name = current.labels.get("alertname", current.subject)
    reason = f"{name} resolved: not posted again before its endsAt"
    cause = {"alertname": name, "reason": reason, "last_seen_at": current.last_seen_at.isoformat()}
    command = Command(CommandKind.LIFT, post.actor, reason, None, cause, None)
    found.apply(fp, command, at=now, place=partial(_no_place, fp))


def _no_place(fp: str) -> Place:
    raise AssertionError(f"no open warning of {fp} to lift")  # apply raises only when none is


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
        SPAN: valid_for(alert, now),
    }
    return Command(CommandKind.RAISE, actor, summary, level, cause, explanation)
