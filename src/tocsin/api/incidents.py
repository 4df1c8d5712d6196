"""Incidents: the board, one incident with its tasks and timeline, opening one by hand,
activating a plan, links, the lead unit, stand-down, closing, merging and splitting; the plans;
and the incidents that link a warning (or a public alert, event, report)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.audit import AuditOut, audit_out
from tocsin.api.auth import Commander, Reader, container_of
from tocsin.api.fields import Code, Name, Reason, single_values
from tocsin.api.problems import CHANGE_ERRORS, READ_ERRORS, responses
from tocsin.api.tasks import TaskOut, task_out
from tocsin.api.warnings import check_region
from tocsin.core.incidents.model import Incident, IncidentState, Link, LinkKind, ResponseLevel
from tocsin.core.incidents.plans import EmergencyPlan
from tocsin.core.levels import Level

IncidentId = Annotated[str, Path(min_length=1, max_length=128)]
Ref = Annotated[str, Path(min_length=1, max_length=128)]


class LinkIO(BaseModel):
    """A linked warning, event, public alert or public report, by id."""

    model_config = ConfigDict(extra="forbid")
    kind: LinkKind
    ref: Code


class IncidentOut(BaseModel):
    """An incident."""

    id: str
    title: str
    region: str
    domain: str
    state: IncidentState
    plan: str | None
    plan_level: Level | None
    response_level: ResponseLevel | None
    lead_unit: str | None
    links: list[LinkIO]
    opened_at: datetime
    updated_at: datetime
    activated_at: datetime | None
    stand_down_proposed_at: datetime | None
    stood_down_at: datetime | None
    closed_at: datetime | None
    merged_into: str | None


class IncidentDetailOut(IncidentOut):
    """An incident with its tasks and its timeline (the audit trail of it and its tasks)."""

    tasks: list[TaskOut]
    timeline: list[AuditOut]


class IncidentIn(BaseModel):
    """An incident opened by hand."""

    model_config = ConfigDict(extra="forbid")
    title: Name
    region: Code
    domain: Code
    reason: Reason = Field(min_length=1)
    lead: Code | None = None
    links: list[LinkIO] = Field(default=[], max_length=100)


class ActivateIn(BaseModel):
    """A plan to activate (or raise) at a level."""

    model_config = ConfigDict(extra="forbid")
    plan: Code
    level: Level
    reason: Reason = Field(min_length=1)


class LinksIn(BaseModel):
    """Things to link (or unlink)."""

    model_config = ConfigDict(extra="forbid")
    links: list[LinkIO] = Field(min_length=1, max_length=100)
    reason: Reason = ""
    unlink: bool = False


class LeadIn(BaseModel):
    """The lead unit."""

    model_config = ConfigDict(extra="forbid")
    unit: Code
    reason: Reason = ""


class StandDownIn(BaseModel):
    """Confirming the stand-down."""

    model_config = ConfigDict(extra="forbid")
    reason: Reason = Field(min_length=1)
    cancel_open: bool = Field(default=False, description="cancel the unfinished response tasks")


class CloseIn(BaseModel):
    """Why the incident closes."""

    model_config = ConfigDict(extra="forbid")
    reason: Reason = Field(min_length=1)


class MergeIn(BaseModel):
    """The incident this one goes into."""

    model_config = ConfigDict(extra="forbid")
    into: Code
    reason: Reason = Field(min_length=1)


class SplitIn(BaseModel):
    """What goes into a new incident: links and tasks."""

    model_config = ConfigDict(extra="forbid")
    title: Name
    links: list[LinkIO] = Field(default=[], max_length=100)
    tasks: list[Code] = Field(default=[], max_length=500)
    reason: Reason = Field(min_length=1)


class PlanLevelOut(BaseModel):
    """A plan's level: the response and its tasks' titles."""

    level: Level
    response: ResponseLevel
    tasks: list[str]


class PlanOut(BaseModel):
    """An emergency plan, as configured."""

    id: str
    name: str
    domain: str
    region: str | None
    levels: list[PlanLevelOut]
    stand_down: list[str]


def incident_out(x: Incident) -> IncidentOut:
    """The API view of an incident."""
    return IncidentOut(
        id=x.id,
        title=x.title,
        region=x.region,
        domain=x.domain,
        state=x.state,
        plan=x.plan,
        plan_level=x.plan_level,
        response_level=x.response_level,
        lead_unit=x.lead_unit,
        links=[LinkIO(kind=link.kind, ref=link.ref) for link in sorted(x.links)],
        opened_at=x.opened_at,
        updated_at=x.updated_at,
        activated_at=x.activated_at,
        stand_down_proposed_at=x.stand_down_proposed_at,
        stood_down_at=x.stood_down_at,
        closed_at=x.closed_at,
        merged_into=x.merged_into,
    )


def plan_out(p: EmergencyPlan) -> PlanOut:
    """The API view of a plan."""
    return PlanOut(
        id=p.id,
        name=p.name,
        domain=p.domain,
        region=p.region,
        levels=[
            PlanLevelOut(level=x.level, response=x.response, tasks=[t.title for t in x.tasks])
            for x in p.levels
        ],
        stand_down=[t.title for t in p.stand_down],
    )


def _links(items: list[LinkIO]) -> list[Link]:
    return [Link(i.kind, i.ref) for i in items]


def router() -> APIRouter:
    """The incident routes."""
    api = APIRouter(tags=["incidents"], dependencies=[Depends(single_values)])

    @api.get("/api/v1/incidents", responses=READ_ERRORS)
    def list_incidents(
        principal: Reader,
        request: Request,
        state: Literal["open", "all"] = "open",
        region: Annotated[str | None, Query(description="the region and its subtree")] = None,
        domain: Annotated[str | None, Query(max_length=256)] = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> list[IncidentOut]:
        """Incidents in the user's scope, newest first (the incident board)."""
        container = container_of(request)
        check_region(container, region)
        found = container.response.incidents.find(
            principal=principal,
            open_only=state == "open",
            region=region,
            domain=domain,
            limit=limit,
        )
        return [incident_out(x) for x in found]

    @api.post("/api/v1/incidents", status_code=201, responses=CHANGE_ERRORS)
    def open_incident(body: IncidentIn, principal: Commander, request: Request) -> IncidentOut:
        """Open an incident by hand (no plan yet) in the user's scope."""
        opened = container_of(request).response.incidents.open(
            principal=principal,
            title=body.title,
            region=body.region,
            domain=body.domain,
            reason=body.reason,
            links=_links(body.links),
            lead=body.lead,
        )
        return incident_out(opened)

    @api.get("/api/v1/incidents/linked/{kind}/{ref}", responses=READ_ERRORS)
    def linked_incidents(
        kind: LinkKind, ref: Ref, principal: Reader, request: Request
    ) -> list[IncidentOut]:
        """The incidents (open or closed) that link a warning, event, public alert or report."""
        found = container_of(request).response.incidents.linked_to(kind, ref, principal=principal)
        return [incident_out(x) for x in found]

    @api.get("/api/v1/incidents/{incident_id}", responses=READ_ERRORS)
    def get_incident(
        incident_id: IncidentId, principal: Reader, request: Request
    ) -> IncidentDetailOut:
        """One incident with its tasks and timeline."""
        container = container_of(request)
        service = container.response.incidents
        incident = service.get(incident_id, principal=principal)
        now = container.clock.now()
        return IncidentDetailOut(
            **incident_out(incident).model_dump(),
            tasks=[task_out(t, now) for t in service.tasks(incident_id, principal=principal)],
            timeline=audit_out(service.timeline(incident_id, principal=principal)),
        )

    @api.post("/api/v1/incidents/{incident_id}/activate", responses=CHANGE_ERRORS)
    def activate_plan(
        incident_id: IncidentId, body: ActivateIn, principal: Commander, request: Request
    ) -> IncidentOut:
        """Activate a plan at a level (or raise the running plan to it): its tasks go out."""
        done = container_of(request).response.incidents.activate(
            incident_id,
            principal=principal,
            plan_id=body.plan,
            level=body.level,
            reason=body.reason,
        )
        return incident_out(done)

    @api.post("/api/v1/incidents/{incident_id}/links", responses=CHANGE_ERRORS)
    def link_incident(
        incident_id: IncidentId, body: LinksIn, principal: Commander, request: Request
    ) -> IncidentOut:
        """Link (or, with `unlink`, unlink) warnings, events, public alerts or reports."""
        done = container_of(request).response.incidents.link(
            incident_id,
            principal=principal,
            links=_links(body.links),
            reason=body.reason,
            unlink=body.unlink,
        )
        return incident_out(done)

    @api.post("/api/v1/incidents/{incident_id}/lead", responses=CHANGE_ERRORS)
    def name_lead(
        incident_id: IncidentId, body: LeadIn, principal: Commander, request: Request
    ) -> IncidentOut:
        """Name the lead unit."""
        done = container_of(request).response.incidents.name_lead(
            incident_id, principal=principal, unit=body.unit, reason=body.reason
        )
        return incident_out(done)

    @api.post("/api/v1/incidents/{incident_id}/stand-down", responses=CHANGE_ERRORS)
    def stand_down(
        incident_id: IncidentId, body: StandDownIn, principal: Commander, request: Request
    ) -> IncidentOut:
        """Confirm the stand-down: its tasks go out; it closes when every task is finished."""
        done = container_of(request).response.incidents.stand_down(
            incident_id, principal=principal, reason=body.reason, cancel_open=body.cancel_open
        )
        return incident_out(done)

    @api.post("/api/v1/incidents/{incident_id}/close", responses=CHANGE_ERRORS)
    def close_incident(
        incident_id: IncidentId, body: CloseIn, principal: Commander, request: Request
    ) -> IncidentOut:
        """Close an incident whose tasks are all finished."""
        done = container_of(request).response.incidents.close(
            incident_id, principal=principal, reason=body.reason
        )
        return incident_out(done)

    @api.post("/api/v1/incidents/{incident_id}/merge", responses=CHANGE_ERRORS)
    def merge_incident(
        incident_id: IncidentId, body: MergeIn, principal: Commander, request: Request
    ) -> IncidentOut:
        """Merge this incident into another; return the one merged into."""
        done = container_of(request).response.incidents.merge(
            incident_id, into=body.into, principal=principal, reason=body.reason
        )
        return incident_out(done)

    @api.post("/api/v1/incidents/{incident_id}/split", status_code=201, responses=CHANGE_ERRORS)
    def split_incident(
        incident_id: IncidentId, body: SplitIn, principal: Commander, request: Request
    ) -> IncidentOut:
        """Move links and tasks into a new incident; return it."""
        done = container_of(request).response.incidents.split(
            incident_id,
            principal=principal,
            title=body.title,
            links=_links(body.links),
            task_ids=body.tasks,
            reason=body.reason,
        )
        return incident_out(done)

    @api.get("/api/v1/plans", responses=responses(401, 403))
    def list_plans(principal: Reader, request: Request) -> list[PlanOut]:
        """The emergency plans configured (plans.yaml) for the user's regions and domains."""
        found = container_of(request).response.incidents.plans(principal=principal)
        return [plan_out(p) for p in found]

    return api
