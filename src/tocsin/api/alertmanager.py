"""Alertmanager's API v2 beside the receiver (`alert_receiver.py`), so that `amtool` and other
Alertmanager clients read Tocsin's board and silences (the mapping:
`tocsin.core.warnings.alert_view`):

- `GET /api/v2/alerts` ("getAlerts", `amtool alert query`): the open warnings the reader sees,
  as Alertmanager's list of gettableAlert, with its filters;
- `GET /api/v2/silences` (`amtool silence query`): the silences the reader sees, as
  gettableSilence, each selector written as matchers;
- `DELETE /api/v2/silence/{id}` (`amtool silence expire`): ends a silence, as
  `POST /api/v1/silences/{id}/expire` does;
- `POST /api/v2/silences` (`amtool silence add`) is refused, 400 with a string that says why
  and where silences are created: Tocsin's need a reason, and a second person's approval when
  broad, which Alertmanager's silence has no field for.

Bodies use Alertmanager's camelCase names. A filter Alertmanager would refuse is answered as it
answers it, 400 with a JSON string saying why: its clients show that string to their users, and
would show nothing of a Problem object.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from tocsin.api.auth import Reader, Silencer, container_of
from tocsin.api.problems import CHANGE_ERRORS, responses
from tocsin.core.warnings.alert_view import (
    AlertQuery,
    AlertView,
    parse_api_matcher,
    parse_receiver,
    silence_matchers,
    silence_state,
)
from tocsin.core.warnings.selectors import MAX_MATCHER
from tocsin.core.warnings.silences import Silence

MAX_FILTERS = 64
EXPIRED_THROUGH_API = "expired through Alertmanager's API (amtool silence expire)"
SilenceId = Annotated[str, Path(min_length=1, max_length=128)]
SILENCES_ELSEWHERE = (
    "Tocsin's silences need an owner, a reason and an end, and a second person's approval when "
    "broad: create one with `tocsin silences create` or POST /api/v1/silences, end one with "
    "`tocsin silences expire` or POST /api/v1/silences/ID/expire"
)
BAD_REQUEST: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "A filter Alertmanager would refuse, and why (a JSON string, as "
        "Alertmanager answers it).",
        "content": {"application/json": {"schema": {"type": "string"}}},
    }
}
NOT_SERVED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Alertmanager's answer to a silence made (its id); Tocsin never gives "
        "it: see 400.",
        "content": {
            "application/json": {
                "schema": {"type": "object", "properties": {"silenceID": {"type": "string"}}}
            }
        },
    },
    400: {
        "description": "Always: how Tocsin's silences are created (a JSON string, which "
        "Alertmanager's clients show).",
        "content": {"application/json": {"schema": {"type": "string"}}},
    },
}


class Receiver(BaseModel):
    """A receiver, by name (a responsible unit's code or a receiver of routes.yaml)."""

    name: str


class AlertStatus(BaseModel):
    """Whether the alert is notified (`active`) or kept out of notifications (`suppressed`), and
    by which silences and inhibiting warnings the reader may see."""

    state: Literal["unprocessed", "active", "suppressed"]
    silencedBy: list[str]
    inhibitedBy: list[str]


class GettableAlert(BaseModel):
    """An open warning as Alertmanager's gettableAlert."""

    labels: dict[str, str]
    annotations: dict[str, str]
    startsAt: datetime
    endsAt: datetime = Field(description="`0001-01-01T00:00:00Z`: held until it is lifted")
    updatedAt: datetime
    fingerprint: str
    receivers: list[Receiver]
    status: AlertStatus
    generatorURL: str


def gettable(view: AlertView) -> GettableAlert:
    """The API view of an alert."""
    return GettableAlert(
        labels=dict(view.labels),
        annotations=dict(view.annotations),
        startsAt=view.starts_at,
        endsAt=view.ends_at,
        updatedAt=view.updated_at,
        fingerprint=view.fingerprint,
        receivers=[Receiver(name=r) for r in view.receivers],
        status=AlertStatus(
            state="suppressed" if view.suppressed else "active",
            silencedBy=list(view.silenced_by),
            inhibitedBy=list(view.inhibited_by),
        ),
        generatorURL=view.generator_url,
    )


class SilenceMatcherOut(BaseModel):
    """One matcher of a silence."""

    name: str
    value: str
    isRegex: bool
    isEqual: bool


class SilenceStatus(BaseModel):
    """A silence's state: a broad one awaiting approval is `pending`, a refused one
    `expired`."""

    state: Literal["expired", "active", "pending"]


class GettableSilence(BaseModel):
    """A Tocsin silence as Alertmanager's gettableSilence (`comment`: its reason)."""

    id: str
    status: SilenceStatus
    updatedAt: datetime
    matchers: list[SilenceMatcherOut]
    startsAt: datetime
    endsAt: datetime
    createdBy: str
    comment: str


def gettable_silence(silence: Silence, region_label: str, now: datetime) -> GettableSilence:
    """The API view of a silence."""
    matchers = silence_matchers(silence.selector, region_label=region_label)
    return GettableSilence(
        id=silence.id,
        status=SilenceStatus(state=silence_state(silence, now)),
        updatedAt=silence.ends_at if silence.expired_by else silence.created_at,
        matchers=[
            SilenceMatcherOut(name=m.name, value=m.value, isRegex=m.is_regex, isEqual=m.is_equal)
            for m in matchers
        ],
        startsAt=silence.starts_at,
        endsAt=silence.ends_at,
        createdBy=silence.created_by,
        comment=silence.reason,
    )


def _query(
    filters: list[str], receiver: str | None, *, active: bool, silenced: bool, inhibited: bool
) -> AlertQuery:
    """The filters; ValueError with Alertmanager's reason for one it would refuse."""
    return AlertQuery(
        matchers=tuple(parse_api_matcher(f) for f in filters),
        receiver=parse_receiver(receiver),
        active=active,
        silenced=silenced,
        inhibited=inhibited,
    )


def router() -> APIRouter:
    """Alertmanager's API v2 reads."""
    api = APIRouter(tags=["prometheus"])

    @api.get(
        "/api/v2/alerts",
        responses={**BAD_REQUEST, **responses(401, 403, 422)},
        response_model=list[GettableAlert],
    )
    async def get_alerts(
        principal: Reader,
        request: Request,
        active: Annotated[
            bool, Query(description="show alerts neither silenced nor inhibited")
        ] = True,
        silenced: Annotated[bool, Query(description="show silenced alerts")] = True,
        inhibited: Annotated[bool, Query(description="show inhibited alerts")] = True,
        unprocessed: Annotated[
            bool, Query(description="show unprocessed alerts (no warning is unprocessed)")
        ] = True,
        filters: Annotated[
            list[str] | None,
            Query(
                alias="filter",
                max_length=MAX_FILTERS,
                description='label matchers, each `name="value"` (or `!=`, `=~`, `!~`); every '
                "one must match",
            ),
        ] = None,
        receiver: Annotated[
            str | None,
            Query(
                max_length=MAX_MATCHER,
                description="a regular expression that the whole name of one of the alert's "
                "receivers must match",
            ),
        ] = None,
    ) -> Any:
        """Alertmanager-compatible list of alerts (`amtool alert query`): the open warnings in
        the reader's scope, sorted by fingerprint."""
        del unprocessed  # every warning is processed (routed) when it is stored
        try:
            query = _query(
                filters or [], receiver, active=active, silenced=silenced, inhibited=inhibited
            )
        except ValueError as err:
            return JSONResponse(str(err), status_code=400)
        views = container_of(request).alert_views
        base = str(request.base_url)
        found = await run_in_threadpool(lambda: views.alerts(query, principal=principal, url=base))
        return [gettable(v) for v in found]

    @api.get("/api/v2/silences", responses=responses(401, 403))
    def get_silences(principal: Reader, request: Request) -> list[GettableSilence]:
        """Alertmanager-compatible list of silences (`amtool silence query`): Tocsin's silences
        in the reader's scope, expired ones too, each selector as matchers on the labels
        warnings are matched by."""
        container = container_of(request)
        now = container.clock.now()
        found = container.alert_views.silences(principal=principal)
        return [gettable_silence(s, label, now) for s, label in found]

    @api.post(
        "/api/v2/silences", response_model=None, responses={**NOT_SERVED, **responses(401, 403)}
    )
    def post_silences(principal: Reader) -> JSONResponse:
        """Not served: create a silence with `POST /api/v1/silences` (a 400 saying so, which
        `amtool silence add` shows)."""
        del principal
        return JSONResponse(SILENCES_ELSEWHERE, status_code=400)

    @api.delete("/api/v2/silence/{silence_id}", responses=CHANGE_ERRORS)
    def delete_silence(
        silence_id: SilenceId, principal: Silencer, request: Request
    ) -> GettableSilence:
        """Alertmanager-compatible expiry (`amtool silence expire ID`): the silence ends now,
        as `POST /api/v1/silences/{id}/expire` ends it (audited, notified); answered with the
        silence (Alertmanager's clients read no body)."""
        container = container_of(request)
        done = container.silences.expire(
            silence_id, principal=principal, reason=EXPIRED_THROUGH_API
        )
        label = container.alert_views.region_label(done.selector.region)
        return gettable_silence(done, label, container.clock.now())

    return api
