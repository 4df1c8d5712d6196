"""Exposure and security alerts: `/api/v1/exposure/...` and `/api/v1/security-alerts`.

Feeds, inventories and alert logs are posted as the files they are (the body is the document,
its format a query parameter); each is validated whole and rejected with every problem named
(422) before anything is stored. Reads list the assets with their exposure and consequences,
and the known-exploited exposures by due date.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.types import DecoratedCallable
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from tocsin.adapters.inventory_files import inventory_rows
from tocsin.adapters.security_alert_formats import parse_alerts
from tocsin.adapters.vulnerability_feeds import parse_feed
from tocsin.api.auth import Configurer, Ingester, Reader, container_of
from tocsin.api.fields import Code, Reason
from tocsin.api.problems import WRITE_ERRORS, responses
from tocsin.bootstrap import Container
from tocsin.core.access import Principal
from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.exposure.advisories import Feed
from tocsin.core.exposure.exposures import Exposure, by_due_date
from tocsin.core.security_alerts import AlertFormat
from tocsin.services.exposure import AssetExposure, Change

T = TypeVar("T")
JSON_BODY: dict[str, Any] = {"application/json": {"schema": {}}}
TEXT_BODY: dict[str, Any] = {
    "text/plain": {"schema": {"type": "string"}},
    "text/csv": {"schema": {"type": "string"}},
    "application/x-ndjson": {"schema": {"type": "string"}},
    **JSON_BODY,
}


class ExposureOut(BaseModel):
    """One advisory that applies to an asset."""

    asset: str
    advisory: str
    feed: str
    title: str
    level: str
    cvss: float | None
    severity: str
    known_exploited: bool
    due_on: date | None
    required_action: str
    software: list[str]
    patched_at: datetime | None
    patched_by: str | None


class ConsequencesOut(BaseModel):
    """What losing the asset takes with it over the dependency graph."""

    fails_with_it: list[str]
    degraded: list[str]
    regions_at_risk: list[str]


class AssetExposureOut(BaseModel):
    """An asset, what it runs, what applies to it and what depends on it."""

    asset: str
    name: str
    region: str
    software: list[str]
    exposures: list[ExposureOut]
    consequences: ConsequencesOut


class RegionExposureOut(BaseModel):
    """A region's cyber exposure: the inputs of `models/cyber_exposure.yaml`."""

    region: str
    CY_ASSETS: int = Field(description="assets with a software inventory")
    CY_EXPOSED: int = Field(description="of them, with an unpatched exposure")
    CY_KEV: int = Field(description="unpatched known-exploited exposures")
    CY_KEV_OVERDUE: int = Field(description="of them, past the catalogue's due date")
    CY_MAX_CVSS: float | None = Field(description="highest CVSS score of an open exposure")
    CY_DEPENDENT: int = Field(description="assets here lost or degraded if an exposed one is")


class ChangeOut(BaseModel):
    """What an import or a patch did."""

    stored: int
    warnings_changed: int


class PatchIn(BaseModel):
    """A patch recorded on an asset for one advisory."""

    model_config = {"extra": "forbid"}
    asset: Code
    advisory: Code
    note: Reason = ""


class AlertsOut(BaseModel):
    """What a delivery of security alerts did."""

    received: int
    placed: int
    stored: int
    unplaced: int = Field(description="alerts naming no configured asset (not kept)")
    observations: int = Field(description="alert counts written to the assets' indicators")


def exposure_out(e: Exposure) -> ExposureOut:
    """The API form of one exposure."""
    a = e.advisory
    return ExposureOut(
        asset=e.asset,
        advisory=a.id,
        feed=a.feed.value,
        title=a.title,
        level=e.level.value,
        cvss=a.cvss_score,
        severity=a.severity.value,
        known_exploited=a.known_exploited,
        due_on=a.due_on,
        required_action=a.required_action,
        software=list(e.software),
        patched_at=e.patched.patched_at if e.patched else None,
        patched_by=e.patched.actor if e.patched else None,
    )


def asset_out(a: AssetExposure) -> AssetExposureOut:
    """The API form of one asset's exposure."""
    harm = a.consequences
    return AssetExposureOut(
        asset=a.asset,
        name=a.name,
        region=a.region,
        software=list(a.software),
        exposures=[exposure_out(e) for e in a.exposures],
        consequences=ConsequencesOut(
            fails_with_it=list(harm.failed),
            degraded=list(harm.degraded),
            regions_at_risk=list(harm.regions),
        ),
    )


async def _text(request: Request) -> str:
    try:
        return (await request.body()).decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidInput([Problem("body", "", f"not UTF-8 text (byte {err.start})")]) from None


def _changed(change: Change) -> ChangeOut:
    return ChangeOut(stored=change.stored, warnings_changed=len(change.transitions))


async def _with_body(request: Request, work: Callable[[Container, str], T]) -> T:
    """Read the body as text, then do the work on it off the event loop."""
    text = await _text(request)
    return await run_in_threadpool(work, container_of(request), text)


def _import_feed(container: Container, text: str, *, feed: Feed, principal: Principal) -> ChangeOut:
    advisories = parse_feed(feed, text, where=f"{feed.value} feed")
    exposure = container.exposure
    return _changed(exposure.import_advisories(advisories, principal=principal, where=feed.value))


def _import_inventory(container: Container, text: str, *, principal: Principal) -> ChangeOut:
    rows = inventory_rows(text, where="inventory")
    return _changed(container.exposure.import_inventory(rows, principal=principal, where="api"))


def _alerts(
    container: Container, text: str, *, kind: AlertFormat, principal: Principal
) -> AlertsOut:
    alerts = parse_alerts(kind, text, received_at=container.clock.now())
    got = container.security_alerts.receive(alerts, principal=principal)
    return AlertsOut.model_validate(got, from_attributes=True)


def _document_post(
    api: APIRouter, path: str, *, content: dict[str, Any], status_code: int | None = None
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """A POST route whose body is a document of these media types (read whole as text)."""
    return api.post(
        path,
        status_code=status_code,
        responses=WRITE_ERRORS,
        openapi_extra={"requestBody": {"required": True, "content": content}},
    )


def router() -> APIRouter:
    """The exposure and security-alert routes."""
    api = APIRouter(tags=["exposure"])

    @api.get("/api/v1/exposure/assets", responses=responses(401, 403))
    def exposure_assets(principal: Reader, request: Request) -> list[AssetExposureOut]:
        """Assets with software in your scope: what applies to each and what depends on it."""
        found = container_of(request).exposure.assets(principal=principal)
        return [asset_out(a) for a in found]

    @api.get("/api/v1/exposure/known-exploited", responses=responses(401, 403))
    def known_exploited(principal: Reader, request: Request) -> list[ExposureOut]:
        """Unpatched known-exploited exposures on the assets in your scope, the earliest due
        date first."""
        assets = container_of(request).exposure.assets(principal=principal)
        found = [e for a in assets for e in a.exposures]
        return [exposure_out(e) for e in by_due_date(found)]

    @api.get("/api/v1/exposure/regions", responses=responses(401, 403))
    def exposure_regions(principal: Reader, request: Request) -> list[RegionExposureOut]:
        """Each region's cyber exposure (regions in your scope with inventoried assets or
        assets at risk)."""
        return [
            RegionExposureOut(
                region=r.region,
                CY_ASSETS=r.assets,
                CY_EXPOSED=r.exposed,
                CY_KEV=r.known_exploited,
                CY_KEV_OVERDUE=r.overdue,
                CY_MAX_CVSS=r.max_cvss,
                CY_DEPENDENT=r.dependent,
            )
            for r in container_of(request).exposure.regions(principal=principal)
        ]

    @_document_post(api, "/api/v1/exposure/advisories", content=JSON_BODY)
    async def post_advisories(
        user: Ingester, request: Request, feed: Annotated[Feed, Query()]
    ) -> ChangeOut:
        """Import a feed document (NVD CVE JSON 2.0, CISA KEV JSON or OSV JSON)."""
        return await _with_body(request, partial(_import_feed, feed=feed, principal=user))

    @_document_post(api, "/api/v1/exposure/inventory", content=TEXT_BODY)
    async def post_inventory(user: Configurer, request: Request) -> ChangeOut:
        """Import a software inventory (CSV with asset and software columns, or JSON)."""
        return await _with_body(request, partial(_import_inventory, principal=user))

    @api.post("/api/v1/exposure/patches", responses=responses(400, 401, 403, 404, 413, 422))
    def post_patch(body: PatchIn, user: Configurer, request: Request) -> ChangeOut:
        """Record a patch on an asset for one advisory: its warning is lifted."""
        change = container_of(request).exposure.record_patch(
            body.asset, body.advisory, principal=user, note=body.note
        )
        return _changed(change)

    @_document_post(api, "/api/v1/security-alerts", content=TEXT_BODY, status_code=202)
    async def post_security_alerts(
        user: Ingester, request: Request, format: Annotated[AlertFormat, Query()]
    ) -> AlertsOut:
        """Security alerts (Wazuh JSON, Suricata EVE JSON lines or CEF lines) on our assets."""
        return await _with_body(request, partial(_alerts, kind=format, principal=user))

    return api
