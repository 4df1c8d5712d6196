"""The Alertmanager-compatible receiver `POST /api/v2/alerts`: Prometheus alerts become warnings.

The body is Alertmanager's API v2 list of postable alerts (camelCase field names). Fields
Alertmanager does not define are ignored, as Alertmanager ignores them; the ones it defines are
typed strictly: times are RFC 3339 with an offset (a naive `startsAt` is refused, never taken
as UTC), labels and annotations are bounded in count and length.

Go's zero time (`0001-01-01T00:00:00Z`) in `startsAt` or `endsAt` means "not set", as it does to
Alertmanager: Go clients built on Alertmanager's OpenAPI models (amtool's `alert add` without
`--start`/`--end`, among others) send it for a time they leave empty.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from tocsin.api.auth import Ingester, container_of
from tocsin.api.fields import Annotations, Labels, Moment, Text
from tocsin.api.problems import WRITE_ERRORS, ProblemItem, item
from tocsin.services.alert_receiver import PrometheusAlert

MAX_ALERTS = 10_000
GO_ZERO_TIME = re.compile(r"0001-01-01T00:00:00(?:\.0+)?(?:Z|[+-]00:00)")


def _unset_when_zero(value: Any) -> Any:
    """None for Go's zero time (an unset time to Alertmanager's clients); else the value."""
    return None if isinstance(value, str) and GO_ZERO_TIME.fullmatch(value) else value


AlertMoment = Annotated[Moment | None, BeforeValidator(_unset_when_zero)]


class PromAlertIn(BaseModel):
    """An alert as Prometheus posts it to Alertmanager (API v2)."""

    model_config = ConfigDict(extra="ignore")
    labels: Labels = Field(description="must include `region` and `domain`; at most 64")
    annotations: Annotations = {}
    startsAt: AlertMoment = None  # Alertmanager's field names; Go's zero time: not set
    endsAt: AlertMoment = None
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
