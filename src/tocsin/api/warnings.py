"""Warnings: list with filters, one with its cause, its history, and acknowledging it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict

from tocsin.api.audit import AuditOut, audit_out
from tocsin.api.auth import Acknowledger, Reader, container_of
from tocsin.api.fields import Reason
from tocsin.api.problems import CHANGE_ERRORS, READ_ERRORS, responses
from tocsin.bootstrap import Container
from tocsin.core.access import Principal
from tocsin.core.domains import parse_domains
from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.levels import Level, parse_levels
from tocsin.core.warnings.model import Warning

WarningId = Annotated[str, Path(min_length=1, max_length=128)]
FILTER_HELP = "one or more, comma-separated or repeated; unknown values are refused (422)"


class WarningOut(BaseModel):
    """A warning."""

    id: str
    fingerprint: str
    source: str
    subject: str
    region: str
    domain: str
    level: Level
    cap_severity: str
    state: str
    first_seen_at: datetime
    last_seen_at: datetime
    updated_at: datetime
    cause: dict[str, Any]
    explanation: dict[str, Any]
    labels: dict[str, str]
    acknowledged_by: str | None
    lifted_at: datetime | None


class AcknowledgeIn(BaseModel):
    """Why a warning is acknowledged."""

    model_config = ConfigDict(extra="forbid")
    reason: Reason = ""


def warning_out(w: Warning) -> WarningOut:
    """The API view of a warning."""
    return WarningOut(
        id=w.id,
        fingerprint=w.fingerprint,
        source=w.source,
        subject=w.subject,
        region=w.region,
        domain=w.domain,
        level=w.level,
        cap_severity=w.level.cap_severity,
        state=w.state.value,
        first_seen_at=w.first_seen_at,
        last_seen_at=w.last_seen_at,
        updated_at=w.updated_at,
        cause=dict(w.cause),
        explanation=dict(w.explanation),
        labels=dict(w.labels),
        acknowledged_by=w.acknowledged_by,
        lifted_at=w.lifted_at,
    )


def check_region(container: Container, region: str | None, *, where: str = "region") -> None:
    """A region filter must name a region of the catalogue (422 otherwise)."""
    if region is not None and region not in container.catalog.regions:
        reason = f"unknown region {region!r} (see GET /api/v1/regions)"
        raise InvalidInput([Problem(where, "region", reason)])


def find_warnings(
    container: Container,
    *,
    open_only: bool,
    levels: tuple[Level, ...],
    domains: tuple[str, ...],
    region: str | None,
    limit: int,
    offset: int = 0,
    principal: Principal,
) -> list[Warning]:
    """Warnings matching any of the domains (each with its subtree), most severe and oldest
    first, as the warning service orders them: `limit` of them after skipping `offset`."""
    if len(domains) <= 1:  # the store pages by itself
        return container.warnings.find(
            open_only=open_only,
            levels=tuple(lv.value for lv in levels),
            domain=domains[0] if domains else None,
            region=region,
            limit=limit,
            offset=offset,
            principal=principal,
        )
    found: dict[str, Warning] = {}
    for domain in domains:
        for w in container.warnings.find(
            open_only=open_only,
            levels=tuple(lv.value for lv in levels),
            domain=domain,
            region=region,
            limit=offset + limit,
            principal=principal,
        ):
            found[w.id] = w
    ordered = sorted(found.values(), key=lambda w: (-w.level.rank, w.first_seen_at, w.id))
    return ordered[offset : offset + limit]


def router() -> APIRouter:
    """The warning routes."""
    api = APIRouter(tags=["warnings"])

    @api.get("/api/v1/warnings", responses=responses(401, 403, 422))
    def list_warnings(
        principal: Reader,
        request: Request,
        state: Literal["open", "all"] = "open",
        level: Annotated[list[str] | None, Query(description=f"blue…red; {FILTER_HELP}")] = None,
        domain: Annotated[
            list[str] | None, Query(description=f"a domain and its sub-domains; {FILTER_HELP}")
        ] = None,
        region: Annotated[str | None, Query(description="the region and its subtree")] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
        offset: Annotated[
            int, Query(ge=0, le=1_000_000, description="skip this many first (paging)")
        ] = 0,
    ) -> list[WarningOut]:
        """Warnings, most severe and oldest first; page with `limit` and `offset`."""
        container = container_of(request)
        levels = parse_levels(level or ())
        domains = parse_domains(domain or (), container.catalog.domains)
        check_region(container, region)
        found = find_warnings(
            container,
            open_only=state == "open",
            levels=levels,
            domains=domains,
            region=region,
            limit=limit,
            offset=offset,
            principal=principal,
        )
        return [warning_out(w) for w in found]

    @api.get("/api/v1/warnings/{warning_id}", responses=READ_ERRORS)
    def get_warning(warning_id: WarningId, principal: Reader, request: Request) -> WarningOut:
        """One warning with its cause and explanation."""
        return warning_out(container_of(request).warnings.get(warning_id, principal=principal))

    @api.get("/api/v1/warnings/{warning_id}/history", responses=READ_ERRORS)
    def warning_history(
        warning_id: WarningId, principal: Reader, request: Request
    ) -> list[AuditOut]:
        """Every transition of a warning: who, when, why."""
        return audit_out(container_of(request).warnings.history(warning_id, principal=principal))

    @api.post("/api/v1/warnings/{warning_id}/acknowledge", responses=CHANGE_ERRORS)
    def acknowledge(
        warning_id: WarningId, body: AcknowledgeIn, principal: Acknowledger, request: Request
    ) -> WarningOut:
        """Acknowledge an active warning (in the user's scope)."""
        warnings = container_of(request).warnings
        done = warnings.acknowledge(warning_id, principal=principal, reason=body.reason)
        return warning_out(done)

    return api
