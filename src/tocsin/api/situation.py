"""Situation reports (an incident's, a region's: now as JSON, HTML or PDF; issued and kept)
and the scorecard (JSON or CSV)."""

from __future__ import annotations

import re
from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from tocsin.api.auth import Commander, Reader, container_of
from tocsin.api.fields import Moment, Reason, single_values
from tocsin.api.problems import READ_ERRORS, json_problems, responses
from tocsin.bootstrap import Container
from tocsin.core.incidents.scorecard import ScoreRow, to_csv
from tocsin.core.incidents.trail import INCIDENT
from tocsin.ports import StoredReport

IncidentId = Annotated[str, Path(min_length=1, max_length=128)]
RegionPath = Annotated[str, Path(min_length=1, max_length=64)]
ReportId = Annotated[str, Path(min_length=1, max_length=64)]
Format = Literal["json", "html", "pdf"]
DOCUMENT = {
    200: {
        "description": "The report: its facts (JSON), a page (HTML) or a PDF, by `format`.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/html": {"schema": {"type": "string"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    **json_problems(401, 403, 404, 422),
}
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ReportOut(BaseModel):
    """A situation report as issued (its facts: GET it with format=json)."""

    id: str
    subject_kind: str
    subject_id: str
    created_at: datetime
    created_by: str
    title: str


class IssueIn(BaseModel):
    """Why a report is issued now."""

    model_config = ConfigDict(extra="forbid")
    reason: Reason = ""


class ScoreRowOut(BaseModel):
    """One unit's record in one domain over the period (times in seconds)."""

    unit: str
    domain: str
    warnings_received: int
    warnings_acknowledged: int
    ack_median_s: float | None
    ack_p90_s: float | None
    tasks_received: int
    tasks_accepted_late: int
    tasks_on_time: int
    tasks_late: int
    tasks_overdue: int
    reminders: int
    escalations_suffered: int


class ScorecardOut(BaseModel):
    """The scorecard of a period and region subtree."""

    start: datetime
    end: datetime
    region: str | None
    rows: list[ScoreRowOut]


def report_out(r: StoredReport) -> ReportOut:
    """The API view of a stored report."""
    return ReportOut.model_validate(r, from_attributes=True)


def rendered(container: Container, facts: dict[str, Any], fmt: Format, *, name: str) -> Response:
    """The facts as JSON, or the report drawn as an HTML page or a PDF."""
    if fmt == "json":
        return JSONResponse(facts)
    renderer = container.response.renderer
    if fmt == "html":
        return HTMLResponse(renderer.html(facts))
    filename = UNSAFE.sub("-", name)[:80] or "situation-report"
    return Response(
        renderer.pdf(facts),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}.pdf"'},
    )


def router() -> APIRouter:
    """The situation report and scorecard routes."""
    api = APIRouter(tags=["situation"], dependencies=[Depends(single_values)])
    document = partial(api.get, response_class=Response, responses=DOCUMENT)  # JSON, HTML, PDF

    @document("/api/v1/incidents/{incident_id}/situation")
    def incident_situation(
        incident_id: IncidentId, principal: Reader, request: Request, format: Format = "json"
    ) -> Response:
        """The incident's situation now: map of affected regions, warnings by level, key
        indicators, task status by unit, public alerts and reports, latest timeline."""
        container = container_of(request)
        facts = container.response.situation.incident_facts(incident_id, principal=principal)
        return rendered(container, facts, format, name=f"situation-{incident_id}")

    @document("/api/v1/regions/{region}/situation")
    def region_situation(
        region: RegionPath, principal: Reader, request: Request, format: Format = "json"
    ) -> Response:
        """A region's situation now: its subtree's open warnings, incidents and their tasks."""
        container = container_of(request)
        facts = container.response.situation.region_facts(region, principal=principal)
        return rendered(container, facts, format, name=f"situation-{region}")

    @api.post(
        "/api/v1/incidents/{incident_id}/situation-reports",
        status_code=201,
        responses=responses(400, 401, 403, 404, 413, 422),
    )
    def issue_report(
        incident_id: IncidentId, body: IssueIn, principal: Commander, request: Request
    ) -> ReportOut:
        """Issue a situation report of the incident now and keep it (on its timeline)."""
        report = container_of(request).response.situation.issue(
            INCIDENT, incident_id, principal=principal, reason=body.reason
        )
        return report_out(report)

    @api.get("/api/v1/incidents/{incident_id}/situation-reports", responses=READ_ERRORS)
    def list_reports(
        incident_id: IncidentId, principal: Reader, request: Request
    ) -> list[ReportOut]:
        """The incident's issued reports, newest first."""
        found = container_of(request).response.situation.find(
            INCIDENT, incident_id, principal=principal
        )
        return [report_out(r) for r in found]

    @document("/api/v1/situation-reports/{report_id}")
    def get_report(
        report_id: ReportId, principal: Reader, request: Request, format: Format = "json"
    ) -> Response:
        """An issued report, exactly as it was issued."""
        container = container_of(request)
        report = container.response.situation.get(report_id, principal=principal)
        return rendered(container, report.facts, format, name=f"situation-{report.id}")

    @api.get(
        "/api/v1/scorecard",
        response_class=Response,
        responses={
            200: {
                "description": "The scorecard (JSON), or its rows as CSV.",
                "content": {
                    "application/json": {"schema": ScorecardOut.model_json_schema()},
                    "text/csv": {"schema": {"type": "string"}},
                },
            },
            **json_problems(401, 403, 404, 422),
        },
    )
    def scorecard(
        principal: Reader,
        request: Request,
        start: Annotated[Moment, Query(description="the period's start (included)")],
        end: Annotated[Moment, Query(description="the period's end (excluded)")],
        region: Annotated[str | None, Query(max_length=64)] = None,
        format: Literal["json", "csv"] = "json",
    ) -> Response:
        """Each unit's record per domain over a period and region subtree: warnings received
        and acknowledged, time to acknowledge, tasks on time, late and overdue, reminders and
        escalations suffered; computed from the audit trail."""
        container = container_of(request)
        rows = container.response.scorecards.scorecard(
            principal=principal, start=start, end=end, region=region
        )
        if format == "csv":
            return Response(
                to_csv(rows),
                media_type="text/csv",
                headers={"Content-Disposition": 'attachment; filename="scorecard.csv"'},
            )
        out = ScorecardOut(start=start, end=end, region=region, rows=[_row(r) for r in rows])
        return JSONResponse(out.model_dump(mode="json"))

    return api


def _row(r: ScoreRow) -> ScoreRowOut:
    return ScoreRowOut.model_validate(r.as_json())
