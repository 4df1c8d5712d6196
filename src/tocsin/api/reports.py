"""Handling public reports: the handling unit's view (exact point, contact) and its steps, and
the reporter's tracking view (public).

Only members of the unit a report was routed to see it here (`services.reports.handles`); every
listing and every look at a contact is audited. Each step is shown to the reporter as an Open311
status and a public note.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.auth import Acknowledger, container_of
from tocsin.api.catalog import RegionCollection, region_feature
from tocsin.api.fields import Reason
from tocsin.api.problems import CHANGE_ERRORS, READ_ERRORS, responses
from tocsin.core.reports import HandlingAction, Report, ReportStatus, ReportUpdate
from tocsin.ports.reports import ReportQuery

ReportPath = Annotated[str, Path(min_length=1, max_length=40)]


class UpdateOut(BaseModel):
    """One public step of a report."""

    at: datetime
    status: ReportStatus
    note: str


class HandledReportOut(BaseModel):
    """A report as its handling unit sees it: the exact point."""

    id: str
    service: str
    status: ReportStatus
    open311_status: str
    lat: float
    long: float
    region: str
    unit: str | None
    requested_at: datetime
    updated_at: datetime
    description: str
    address: str | None
    attributes: dict[str, str | list[str]]
    cluster: str | None
    duplicate_of: str | None
    incident: str | None
    has_photo: bool
    has_contact: bool


class HandledDetailOut(HandledReportOut):
    """A report with the reporter's contact (if kept) and its public updates."""

    contact: str | None
    updates: list[UpdateOut]


class TrackOut(BaseModel):
    """A report as its reporter follows it (public: no point, no personal field)."""

    id: str
    service_name: str
    status: ReportStatus
    open311_status: str
    requested_at: datetime
    updated_at: datetime
    updates: list[UpdateOut]


class ActionIn(BaseModel):
    """A handling step: the action, a public note (needed to reject or close), and the report
    it duplicates or the incident it belongs to."""

    model_config = ConfigDict(extra="forbid")
    action: HandlingAction
    note: Reason = ""
    target: str | None = Field(default=None, min_length=1, max_length=64)


class AttachIn(BaseModel):
    """An open incident to attach a cluster of reports to, and a public note."""

    model_config = ConfigDict(extra="forbid")
    incident: str = Field(min_length=1, max_length=64)
    note: Reason = ""


def handled_out(report: Report) -> HandledReportOut:
    """The handling unit's view of a report."""
    return HandledReportOut(
        id=report.id,
        service=report.service,
        status=report.status,
        open311_status=report.open311_status,
        lat=report.point.lat,
        long=report.point.lon,
        region=report.region,
        unit=report.unit,
        requested_at=report.requested_at,
        updated_at=report.updated_at,
        description=report.description,
        address=report.address,
        attributes=dict(report.attributes),
        cluster=report.cluster,
        duplicate_of=report.duplicate_of,
        incident=report.incident,
        has_photo=report.has_photo,
        has_contact=report.has_contact,
    )


def _update(u: ReportUpdate) -> UpdateOut:
    return UpdateOut(at=u.at, status=u.status, note=u.note)


def router() -> APIRouter:
    """The report-handling routes."""
    api = APIRouter(tags=["reports"])

    @api.get("/api/v1/public/regions.geojson")
    def public_regions(request: Request) -> RegionCollection:
        """The outlines of the smallest regions, where a report can be placed (public: no
        warning, no indicator, only the administrative geography the report page draws)."""
        tree = container_of(request).catalog.regions
        leaves = [c for c in tree.regions if not tree.children.get(c)]
        return RegionCollection(features=[region_feature(tree, c) for c in leaves])

    @api.get("/api/v1/public/reports/{report_id}", responses=responses(404, 422))
    def track_report(report_id: ReportPath, request: Request) -> TrackOut:
        """Follow a report by its tracking number: its status and the unit's public answers
        (no token: the reporter has no account)."""
        service = container_of(request).reports
        report, updates = service.public(report_id)
        rtype = service.types.get(report.service)
        return TrackOut(
            id=report.id,
            service_name=rtype.name if rtype else report.service,
            status=report.status,
            open311_status=report.open311_status,
            requested_at=report.requested_at,
            updated_at=report.updated_at,
            updates=[_update(u) for u in updates],
        )

    @api.get("/api/v1/reports", responses=responses(401, 403, 422))
    def list_reports(
        user: Acknowledger,
        request: Request,
        status: Annotated[list[ReportStatus], Query(max_length=7)] = [],  # noqa: B006
        limit: Annotated[int, Query(ge=1, le=1_000)] = 200,
    ) -> list[HandledReportOut]:
        """The reports your unit handles, newest first (audited)."""
        query = ReportQuery(statuses=tuple(status), limit=limit)
        return [handled_out(r) for r in container_of(request).reports.for_unit(user, query)]

    @api.get("/api/v1/reports/{report_id}", responses=READ_ERRORS)
    def get_report(report_id: ReportPath, user: Acknowledger, request: Request) -> HandledDetailOut:
        """One report your unit handles, with the reporter's contact and the public updates
        (audited)."""
        service = container_of(request).reports
        view = service.handler_view(report_id, user=user)
        _, updates = service.public(report_id)
        return HandledDetailOut(
            **handled_out(view.report).model_dump(),
            contact=view.contact,
            updates=[_update(u) for u in updates],
        )

    @api.post("/api/v1/reports/{report_id}/actions", responses=CHANGE_ERRORS)
    def act_on_report(
        report_id: ReportPath, body: ActionIn, user: Acknowledger, request: Request
    ) -> HandledReportOut:
        """Acknowledge, verify, mark duplicate (target: the report), link to an incident
        (target: its id), reject (note: why) or close (note: the public answer)."""
        done = container_of(request).reports.act(
            report_id, body.action, user=user, note=body.note, target=body.target
        )
        return handled_out(done)

    @api.post("/api/v1/reports/clusters/{cluster}/incident", responses=CHANGE_ERRORS)
    def attach_cluster(
        cluster: ReportPath, body: AttachIn, user: Acknowledger, request: Request
    ) -> list[HandledReportOut]:
        """Attach a cluster of reports to an open incident: every open report of it that your
        unit handles is linked (each reporter reads it), the incident links them, and reports
        joining the cluster later follow. Answers the reports linked now."""
        linked = container_of(request).reports.attach_cluster(
            cluster, body.incident, user=user, note=body.note
        )
        return [handled_out(r) for r in linked]

    return api
