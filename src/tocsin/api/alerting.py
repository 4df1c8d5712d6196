"""REST routes of the warning pipeline: silences, the notification log, a warning's delivery
status, and the Alertmanager-compatible receiver `POST /api/v2/alerts` for Prometheus."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from tocsin.api.auth import Ingester, Reader, Silencer, container_of
from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.levels import Level
from tocsin.core.warnings.outbox import Notification
from tocsin.core.warnings.selectors import Selector, parse_matcher
from tocsin.core.warnings.silences import Silence, silence_json
from tocsin.services.alert_receiver import PrometheusAlert


class SilenceIn(BaseModel):
    """A new silence: what it matches, until when, and why (the owner is the token's user)."""

    region: str | None = Field(default=None, description="the region and its subtree")
    domain: str | None = Field(default=None, description="the domain and its sub-domains")
    levels: list[Level] = []
    matchers: list[str] = Field(default=[], description="label matchers: name=value, !=, =~, !~")
    starts_at: datetime | None = None
    ends_at: datetime
    reason: str = Field(min_length=1)


class ExpireIn(BaseModel):
    """Why a silence is ended early."""

    reason: str = ""


class PromAlertIn(BaseModel):
    """An alert as Prometheus posts it to Alertmanager (API v2; its camelCase field names)."""

    labels: dict[str, str]
    annotations: dict[str, str] = {}
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: str = ""


def notification_json(n: Notification) -> dict[str, Any]:
    """A notification log entry."""
    return {
        "key": n.key,
        "kind": n.kind.value,
        "reason": n.reason,
        "receiver": n.receiver,
        "channel": n.channel.value,
        "address": n.address,
        "format": n.format.value,
        "subject": n.subject,
        "warning_ids": list(n.warning_ids),
        "created_at": n.created_at.isoformat(),
        "status": n.status.value,
        "attempts": n.attempts,
        "next_attempt_at": n.next_attempt_at.isoformat() if n.next_attempt_at else None,
        "delivered_at": n.delivered_at.isoformat() if n.delivered_at else None,
        "last_error": n.last_error,
    }


def _selector(body: SilenceIn) -> Selector:
    problems: list[Problem] = []
    matchers = []
    for i, text in enumerate(body.matchers):
        try:
            matchers.append(parse_matcher(text))
        except ValueError as err:
            problems.append(Problem(f"matchers[{i}]", "matchers", str(err)))
    if problems:
        raise InvalidInput(problems)
    return Selector(body.region, body.domain, frozenset(body.levels), tuple(matchers))


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def alerting_router() -> APIRouter:
    """The pipeline's routes (the container is taken from the app state)."""
    router = APIRouter()

    @router.post("/api/v1/silences", tags=["silences"], status_code=201)
    def create_silence(body: SilenceIn, user: Silencer, request: Request) -> dict[str, Any]:
        """Create a silence; it needs a reason and an end; its creation is notified."""
        c = container_of(request)
        selector = _selector(body)
        for name, value, known in (
            ("region", body.region, c.catalog.regions),
            ("domain", body.domain, c.catalog.domains),
        ):
            if value is not None and value not in known:
                raise InvalidInput([Problem("body", name, f"unknown {name} {value!r}")])
        silence = c.silences.create(
            selector,
            created_by=user.name,
            reason=body.reason,
            ends_at=body.ends_at.astimezone(UTC),
            starts_at=_utc(body.starts_at),
        )
        return silence_json(silence, c.clock.now())

    @router.get("/api/v1/silences", tags=["silences"])
    def list_silences(
        _: Reader,
        request: Request,
        state: Annotated[str, Query(pattern="^(current|all)$")] = "current",
    ) -> list[dict[str, Any]]:
        """Silences (pending and active; `state=all` adds expired ones), newest first."""
        c = container_of(request)
        now = c.clock.now()
        found: list[Silence] = c.silences.find(include_expired=state == "all")
        return [silence_json(s, now) for s in found]

    @router.get("/api/v1/silences/{silence_id}", tags=["silences"])
    def get_silence(silence_id: str, _: Reader, request: Request) -> dict[str, Any]:
        """One silence with its audit trail."""
        c = container_of(request)
        out = silence_json(c.silences.get(silence_id), c.clock.now())
        out["history"] = [
            {"at": r.at.isoformat(), "actor": r.actor, "kind": r.kind, "reason": r.reason}
            for r in c.silences.history(silence_id)
        ]
        return out

    @router.post("/api/v1/silences/{silence_id}/expire", tags=["silences"])
    def expire_silence(
        silence_id: str, body: ExpireIn, user: Silencer, request: Request
    ) -> dict[str, Any]:
        """End a silence now; its expiry is notified."""
        c = container_of(request)
        done = c.silences.expire(silence_id, actor=user.name, reason=body.reason)
        return silence_json(done, c.clock.now())

    @router.get("/api/v1/notifications", tags=["notifications"])
    def notifications(
        _: Reader,
        request: Request,
        warning: str | None = None,
        status: Annotated[str | None, Query(pattern="^(pending|delivered|failed)$")] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
    ) -> list[dict[str, Any]]:
        """The notification log, newest first."""
        c = container_of(request)
        rows = c.dispatcher.notification_log(warning_id=warning, status=status, limit=limit)
        return [notification_json(n) for n in rows]

    @router.get("/api/v1/warnings/{warning_id}/delivery", tags=["notifications"])
    def delivery(warning_id: str, _: Reader, request: Request) -> dict[str, Any]:
        """Who was told about a warning, what suppresses it now, and its escalation."""
        c = container_of(request)
        warning = c.warnings.get(warning_id)
        return c.dispatcher.explain_delivery(warning, c.clock.now())

    @router.post("/api/v2/alerts", tags=["ingest"])
    def prometheus_alerts(
        body: list[PromAlertIn], user: Ingester, request: Request
    ) -> dict[str, Any]:
        """Alertmanager-compatible receiver: Prometheus alerts become warnings."""
        c = container_of(request)
        result = c.alert_receiver.receive(
            [
                PrometheusAlert(
                    a.labels, a.annotations, _utc(a.startsAt), _utc(a.endsAt), a.generatorURL
                )
                for a in body
            ],
            actor=user.name,
        )
        return {
            "accepted": result.accepted,
            "warnings_changed": len(result.events),
            "rejected": [
                {"where": p.where, "field": p.field, "reason": p.reason} for p in result.rejected
            ],
        }

    return router
