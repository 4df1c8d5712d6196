"""Notifications: the delivery log, and how one warning is (or is not) being delivered."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from tocsin.api.auth import Reader, container_of
from tocsin.api.problems import READ_ERRORS, responses
from tocsin.api.warnings import WarningId
from tocsin.core.errors import InvalidInput, NotFound, Problem
from tocsin.core.warnings.outbox import (
    Channel,
    DeliveryStatus,
    Notification,
    NotificationKind,
    PayloadFormat,
)


class NotificationOut(BaseModel):
    """One delivery of one message to one address."""

    key: str = Field(description="the idempotency key the receiver sees")
    kind: NotificationKind
    reason: str
    receiver: str
    channel: Channel
    address: str
    format: PayloadFormat
    subject: str
    warning_ids: list[str]
    created_at: datetime
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None


class RouteMatchOut(BaseModel):
    """A route a warning matches: its receiver, grouping and what mutes it now."""

    route: str
    receiver: str
    group_by: list[str]
    muted_by: list[str]


class DeliveredOut(BaseModel):
    """A notification about the warning."""

    key: str
    kind: NotificationKind
    reason: str
    receiver: str
    channel: Channel
    address: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    delivered_at: datetime | None


class DeliveryOut(BaseModel):
    """Who was told about a warning, what suppresses it now, and its escalation."""

    warning_id: str
    routes: list[RouteMatchOut]
    suppressed_by: list[str]
    responsible_chain: list[str]
    escalation: dict[str, Any] | None = Field(
        description="policy, started_at, steps, progress, next_due_at, stopped_at, stop_reason"
    )
    notifications: list[DeliveredOut]


def notification_out(n: Notification) -> NotificationOut:
    """A notification log entry."""
    return NotificationOut.model_validate(n, from_attributes=True)


def router() -> APIRouter:
    """The notification routes."""
    api = APIRouter(tags=["notifications"])

    @api.get("/api/v1/notifications", responses=responses(401, 403, 422))
    def notifications(
        principal: Reader,
        request: Request,
        warning: Annotated[str | None, Query(max_length=128)] = None,
        status: DeliveryStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
    ) -> list[NotificationOut]:
        """The notification log (what the user's scope holds), newest first; addresses are
        redacted (`***`)."""
        container = container_of(request)
        if warning is not None:
            try:
                container.warnings.get(warning, principal=principal)
            except NotFound as err:
                raise InvalidInput([Problem("query", "warning", str(err))]) from err
        rows = container.dispatcher.notification_log(
            principal=principal,
            warning_id=warning,
            status=status.value if status else None,
            limit=limit,
        )
        return [notification_out(n) for n in rows]

    @api.get("/api/v1/warnings/{warning_id}/delivery", responses=READ_ERRORS)
    def delivery(warning_id: WarningId, principal: Reader, request: Request) -> DeliveryOut:
        """Who was told about a warning, what suppresses it now, and its escalation."""
        container = container_of(request)
        warning = container.warnings.get(warning_id, principal=principal)
        now = container.clock.now()
        explained = container.dispatcher.explain_delivery(warning, now, principal=principal)
        return DeliveryOut.model_validate(explained)

    return api
