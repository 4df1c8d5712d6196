"""The Alertmanager-compatible receiver `POST /api/v2/alerts`: Prometheus alerts become warnings.

The body is Alertmanager's API v2 list of postable alerts (camelCase field names). Fields
Alertmanager does not define are ignored, as Alertmanager ignores them; the ones it defines are
typed strictly: times are RFC 3339 with an offset (a naive `startsAt` is refused, never taken
as UTC), labels and annotations are bounded in count and length.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.auth import Ingester, container_of
from tocsin.api.fields import Annotations, Labels, Moment, Text
from tocsin.api.problems import WRITE_ERRORS, ProblemItem, item
from tocsin.services.alert_receiver import PrometheusAlert

MAX_ALERTS = 10_000


class PromAlertIn(BaseModel):
    """An alert as Prometheus posts it to Alertmanager (API v2)."""

    model_config = ConfigDict(extra="ignore")
    labels: Labels = Field(description="must include `region` and `domain`; at most 64")
    annotations: Annotations = {}
    startsAt: Moment | None = None  # Alertmanager's field names
    endsAt: Moment | None = None
    generatorURL: Text = ""


class ReceiveOut(BaseModel):
    """What a post did: alerts applied, warnings changed, and each alert refused and why."""

    accepted: int
    warnings_changed: int
    rejected: list[ProblemItem]


def router() -> APIRouter:
    """The receiver route."""
    api = APIRouter(tags=["prometheus"])

    @api.post("/api/v2/alerts", responses=WRITE_ERRORS)
    async def prometheus_alerts(
        body: Annotated[list[PromAlertIn], Body(max_length=MAX_ALERTS)],
        principal: Ingester,
        request: Request,
    ) -> ReceiveOut:
        """Alertmanager-compatible receiver: Prometheus alerts become warnings.

        Posts arriving together are stored in one transaction; each is answered once it is
        stored (the event loop waits for the commit without a thread per request)."""
        result = await container_of(request).alert_receiver.receive_async(
            [
                PrometheusAlert(a.labels, a.annotations, a.startsAt, a.endsAt, a.generatorURL)
                for a in body
            ],
            principal=principal,
        )
        return ReceiveOut(
            accepted=result.accepted,
            warnings_changed=len(result.events),
            rejected=[item(p) for p in result.rejected],
        )

    return api
