"""Other agencies' CAP alerts: import them (pushed to us), list them; check a CAP document.

Importing needs the `ingest` permission (and every region an alert lands in within the caller's
scope); the XML itself is the body (`application/cap+xml`, `application/xml` or `text/xml`). A
document with one invalid alert is refused whole with 422, each problem saying where; nothing
of it is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from tocsin.api.auth import Ingester, Reader, container_of
from tocsin.api.problems import WRITE_ERRORS, ProblemItem, item, responses
from tocsin.core.cap.imports import ImportedAlert
from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.levels import Level
from tocsin.services.cap_imports import ImportResult

XML_TYPES = ("application/cap+xml", "application/xml", "text/xml")
XML_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "a CAP 1.2 alert, or an Atom or RSS feed embedding CAP alerts",
        "content": {t: {"schema": {"type": "string"}} for t in XML_TYPES},
    }
}


class ImportOut(BaseModel):
    """What an import did."""

    read: int = Field(description="alerts in the document")
    new: int = Field(description="alerts not seen before (the others were skipped)")
    events: int
    warning_changes: int
    warning_ids: list[str]


class ImportedOut(BaseModel):
    """A CAP message read from another agency."""

    sender: str
    identifier: str
    sent: datetime
    msg_type: str
    status: str
    thread: str
    source: str
    received_at: datetime
    event: str
    headline: str
    regions: list[str]
    domain: str
    level: Level | None
    expires_at: datetime | None
    rule: str | None
    ended_at: datetime | None


class ValidateOut(BaseModel):
    """A document checked: the schema, then the rules beyond it (nothing stored)."""

    valid: bool
    alerts: int
    problems: list[ProblemItem]


def _imported(r: ImportedAlert) -> ImportedOut:
    return ImportedOut.model_validate(r, from_attributes=True)


def _import_out(result: ImportResult) -> ImportOut:
    ids = sorted({e.warning_id for e in result.warning_events})
    return ImportOut(
        read=result.read,
        new=result.new,
        events=result.events,
        warning_changes=len(result.warning_events),
        warning_ids=ids,
    )


async def xml_body(request: Request) -> bytes:
    """The request's XML body (415-like 422 for another content type)."""
    kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if kind not in XML_TYPES:
        reason = f"send the XML itself ({', '.join(XML_TYPES)}), not {kind or 'no type'}"
        raise InvalidInput([Problem("headers", "content-type", reason)])
    return await request.body()


def router() -> APIRouter:
    """The CAP import routes."""
    api = APIRouter(tags=["public alerts"])
    _imports(api)
    return api


def _imports(api: APIRouter) -> None:
    """Other agencies' alerts: read them in, list them; check a document."""

    @api.get("/api/v1/cap/imports", responses=responses(401, 403, 422))
    def list_imports(
        principal: Reader,
        request: Request,
        live: bool = False,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[ImportedOut]:
        """CAP messages read from other agencies, newest first (`live`: those whose warnings
        still stand)."""
        imports = container_of(request).cap.imports
        return [
            _imported(r) for r in imports.find(principal=principal, limit=limit, live_only=live)
        ]

    @api.post("/api/v1/cap/imports", openapi_extra=XML_BODY, responses=WRITE_ERRORS)
    async def push(principal: Ingester, request: Request) -> ImportOut:
        """Import a CAP alert (or a feed embedding alerts) pushed by another agency: checked
        against the schema, refused whole when invalid; new messages become events and, by
        rule, warnings."""
        data = await xml_body(request)
        imports = container_of(request).cap.imports
        result = await run_in_threadpool(lambda: imports.push(data, principal=principal))
        return _import_out(result)

    @api.post("/api/v1/cap/validate", openapi_extra=XML_BODY, responses=WRITE_ERRORS)
    async def validate(principal: Reader, request: Request) -> ValidateOut:
        """Check a CAP document (the schema, then the rules beyond it); nothing is stored."""
        data = await xml_body(request)
        imports = container_of(request).cap.imports
        checked = await run_in_threadpool(lambda: imports.check(data, where="body"))
        problems = [item(p) for p in checked.problems]
        return ValidateOut(valid=not problems, alerts=len(checked.alerts), problems=problems)
