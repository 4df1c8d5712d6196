"""Public alerts (CAP 1.2): draft, edit, submit, approve, reject, publish, withdraw; list, show,
preview the XML with its checks, history; import other agencies' alerts and validate documents.

Drafting and submitting need the `draft` permission, approving, rejecting and publishing the
`publish` permission (and a second person: whoever drafted or edited an alert may not approve
it, 403), importing the `ingest` permission; every alert's regions must lie in the caller's
scope. A message that fails the OASIS schema or a rule beyond it is refused with 422, each
problem naming the rule and where. Imports and validation take the XML itself as the body
(`application/cap+xml`, `application/xml` or `text/xml`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool

from tocsin.api.auth import Ingester, Reader, Requires, container_of
from tocsin.api.fields import Code, Moment, Reason, Text
from tocsin.api.problems import ProblemItem, item, responses
from tocsin.api.warnings import AuditOut
from tocsin.core.access import Principal
from tocsin.core.cap.imports import ImportedAlert
from tocsin.core.cap.lifecycle import AlertState, PublicAlert
from tocsin.core.cap.message import Certainty, Info, Urgency
from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.levels import Level
from tocsin.core.users import Permission
from tocsin.services.cap_imports import ImportResult
from tocsin.services.publication import Choices

CanDraft = Annotated[Principal, Depends(Requires(Permission.DRAFT))]
CanPublish = Annotated[Principal, Depends(Requires(Permission.PUBLISH))]
Identifier = Annotated[str, Path(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9._:-]+$")]
XML_TYPES = ("application/cap+xml", "application/xml", "text/xml")
XML_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "a CAP 1.2 alert, or an Atom or RSS feed embedding CAP alerts",
        "content": {t: {"schema": {"type": "string"}} for t in XML_TYPES},
    }
}
TextLine = Annotated[StrictStr, Field(max_length=1_000)]


class TextsIn(BaseModel):
    """The issuer's own words for one language (unset fields keep the template's)."""

    model_config = ConfigDict(extra="forbid")
    event: TextLine | None = None
    headline: TextLine | None = None
    description: Text | None = None
    instruction: Text | None = None


class ChoicesIn(BaseModel):
    """What the issuer sets (unset: proposed from the warning and configuration)."""

    model_config = ConfigDict(extra="forbid")
    urgency: Urgency | None = None
    certainty: Certainty | None = None
    onset: Moment | None = None
    expires: Moment | None = None
    texts: dict[Annotated[StrictStr, Field(max_length=35)], TextsIn] = Field(
        default={}, max_length=16, description="language -> its texts"
    )
    reason: Reason = ""


class DraftIn(ChoicesIn):
    """A new draft: from a warning (`warning_id`), or by hand (`regions`, `domain`, `level`)."""

    warning_id: Code | None = None
    regions: list[Code] | None = Field(default=None, min_length=1, max_length=100)
    domain: Code | None = None
    level: Level | None = None


class ReasonIn(BaseModel):
    """Why."""

    model_config = ConfigDict(extra="forbid")
    reason: Reason = ""


class RejectIn(BaseModel):
    """Why the alert is sent back (required)."""

    model_config = ConfigDict(extra="forbid")
    reason: Reason = Field(min_length=1)


class AreaOut(BaseModel):
    """A CAP area."""

    description: str
    polygons: list[str]
    circles: list[str]
    geocodes: dict[str, str]


class InfoOut(BaseModel):
    """One language's info block."""

    language: str
    categories: list[str]
    event: str
    response_types: list[str]
    urgency: str
    severity: str
    certainty: str
    onset: datetime | None
    expires: datetime | None
    sender_name: str | None
    headline: str | None
    description: str | None
    instruction: str | None
    web: str | None
    parameters: dict[str, str]
    areas: list[AreaOut]


class PublicAlertOut(BaseModel):
    """A public alert: where it stands, who wrote and approved it, its CAP content."""

    identifier: str
    state: AlertState
    msg_type: str
    thread: str
    warning_id: str | None
    regions: list[str]
    domain: str
    level: Level
    severity: str
    authors: list[str]
    approved_by: str | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    expires_at: datetime | None
    reason: str
    auto: bool
    references: list[str]
    url: str | None = Field(description="the published CAP document (None until published)")
    infos: list[InfoOut]


class PreviewOut(BaseModel):
    """The CAP document as it would leave now (or as it left), and every check's problem."""

    valid: bool
    xml: str
    problems: list[ProblemItem]


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


def _info(info: Info) -> InfoOut:
    return InfoOut(
        language=info.language,
        categories=list(info.categories),
        event=info.event,
        response_types=[r.value for r in info.response_types],
        urgency=info.urgency.value,
        severity=info.severity.value,
        certainty=info.certainty.value,
        onset=info.onset,
        expires=info.expires,
        sender_name=info.sender_name,
        headline=info.headline,
        description=info.description,
        instruction=info.instruction,
        web=info.web,
        parameters={p.name: p.value for p in info.parameters},
        areas=[
            AreaOut(
                description=a.description,
                polygons=list(a.polygons),
                circles=list(a.circles),
                geocodes={g.name: g.value for g in a.geocodes},
            )
            for a in info.areas
        ],
    )


def alert_out(alert: PublicAlert, *, base_url: str) -> PublicAlertOut:
    """The API view of a public alert."""
    url = f"{base_url}/cap/{alert.identifier}.xml" if alert.xml is not None else None
    return PublicAlertOut(
        identifier=alert.identifier,
        state=alert.state,
        msg_type=alert.msg_type.value,
        thread=alert.thread,
        warning_id=alert.warning_id,
        regions=list(alert.regions),
        domain=alert.domain,
        level=alert.level,
        severity=alert.level.cap_severity,
        authors=list(alert.authors),
        approved_by=alert.approved_by,
        created_at=alert.created_at,
        updated_at=alert.updated_at,
        published_at=alert.published_at,
        expires_at=alert.expires_at,
        reason=alert.reason,
        auto=alert.auto,
        references=list(alert.message.references),
        url=url,
        infos=[_info(i) for i in alert.message.infos],
    )


def _imported(r: ImportedAlert) -> ImportedOut:
    return ImportedOut(
        sender=r.sender,
        identifier=r.identifier,
        sent=r.sent,
        msg_type=r.msg_type.value,
        status=r.status.value,
        thread=r.thread,
        source=r.source,
        received_at=r.received_at,
        event=r.event,
        headline=r.headline,
        regions=list(r.regions),
        domain=r.domain,
        level=r.level,
        expires_at=r.expires_at,
        rule=r.rule,
        ended_at=r.ended_at,
    )


def _choices(body: ChoicesIn) -> Choices:
    texts = {
        lang: {k: v for k, v in t.model_dump().items() if v is not None}
        for lang, t in body.texts.items()
    }
    return Choices(body.urgency, body.certainty, body.onset, body.expires, texts)


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
    """The public alert routes."""
    api = APIRouter(tags=["public alerts"])
    base = "/api/v1/cap/alerts"
    one = base + "/{identifier}"

    @api.get(base, responses=responses(401, 403, 422))
    def list_alerts(
        principal: Reader,
        request: Request,
        state: Annotated[list[AlertState] | None, Query()] = None,
        warning_id: Annotated[str | None, Query(max_length=128)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[PublicAlertOut]:
        """Public alerts in the caller's scope, most recently changed first (`warning_id`:
        those issued about a warning)."""
        cap = container_of(request).cap
        found = cap.views.find(
            principal=principal, states=state or (), warning_id=warning_id, limit=limit
        )
        return [alert_out(a, base_url=cap.config.base_url) for a in found]

    @api.post(base, status_code=201, responses=responses(400, 401, 403, 404, 409, 413, 422))
    def draft(body: DraftIn, principal: CanDraft, request: Request) -> PublicAlertOut:
        """Draft a public alert from a warning, or by hand for regions, a domain and a level."""
        cap = container_of(request).cap
        choices = _choices(body)
        if body.warning_id is not None:
            alert = cap.alerts.draft_from_warning(
                body.warning_id, principal=principal, choices=choices, reason=body.reason
            )
        else:
            missing = [
                Problem("body", name, "required when drafting without a warning_id")
                for name, value in (
                    ("regions", body.regions),
                    ("domain", body.domain),
                    ("level", body.level),
                )
                if value is None
            ]
            if missing or body.regions is None or body.domain is None or body.level is None:
                raise InvalidInput(missing)
            alert = cap.alerts.draft(
                regions=body.regions,
                domain=body.domain,
                level=body.level,
                principal=principal,
                choices=choices,
                reason=body.reason,
            )
        return alert_out(alert, base_url=cap.config.base_url)

    @api.get(one, responses=responses(401, 403, 404, 422))
    def get_alert(identifier: Identifier, principal: Reader, request: Request) -> PublicAlertOut:
        """One public alert with its CAP content."""
        cap = container_of(request).cap
        return alert_out(
            cap.views.get(identifier, principal=principal), base_url=cap.config.base_url
        )

    @api.get(one + "/preview", responses=responses(401, 403, 404, 422))
    def preview(identifier: Identifier, principal: Reader, request: Request) -> PreviewOut:
        """The CAP document as it would leave now, with every problem of the schema and rules."""
        found = container_of(request).cap.views.preview(identifier, principal=principal)
        problems = [item(p) for p in found.problems]
        return PreviewOut(valid=not problems, xml=found.xml, problems=problems)

    @api.get(one + "/history", responses=responses(401, 403, 404, 422))
    def history(identifier: Identifier, principal: Reader, request: Request) -> list[AuditOut]:
        """Every step: who drafted, edited, submitted, approved, published it, and why."""
        trail = container_of(request).cap.views.history(identifier, principal=principal)
        return [
            AuditOut(at=r.at, actor=r.actor, kind=r.kind, reason=r.reason, details=dict(r.details))
            for r in trail
        ]

    _commands(api, one)
    _imports(api)
    return api


def _commands(api: APIRouter, one: str) -> None:
    """The lifecycle's commands."""
    errors = responses(400, 401, 403, 404, 409, 413, 422)

    @api.post(one + "/edit", responses=errors)
    def edit(
        identifier: Identifier, body: ChoicesIn, principal: CanDraft, request: Request
    ) -> PublicAlertOut:
        """Change a draft (or a rejected alert, which becomes a draft again)."""
        cap = container_of(request).cap
        alert = cap.alerts.edit(
            identifier, principal=principal, choices=_choices(body), reason=body.reason
        )
        return alert_out(alert, base_url=cap.config.base_url)

    for command, permission, summary in COMMANDS:
        _command(api, one, command=command, permission=permission, summary=summary)

    @api.post(one + "/reject", responses=errors)
    def reject(
        identifier: Identifier, body: RejectIn, principal: CanPublish, request: Request
    ) -> PublicAlertOut:
        """Send a submitted alert back to its author, with the reason."""
        cap = container_of(request).cap
        alert = cap.alerts.reject(identifier, principal=principal, reason=body.reason)
        return alert_out(alert, base_url=cap.config.base_url)


COMMANDS = (
    (
        "submit",
        Permission.DRAFT,
        "Submit a draft for approval (422 listing each problem when it would not pass).",
    ),
    (
        "approve",
        Permission.PUBLISH,
        "Approve a submitted alert (not its author); it is "
        "published at once unless the configuration says otherwise.",
    ),
    ("publish", Permission.PUBLISH, "Publish an approved alert."),
    ("withdraw", Permission.DRAFT, "Give up an alert that is not published."),
)


def _command(
    api: APIRouter, one: str, *, command: str, permission: Permission, summary: str
) -> None:
    """One lifecycle command taking only a reason, guarded by its permission."""

    def run(
        identifier: Identifier, body: ReasonIn, principal: Principal, request: Request
    ) -> PublicAlertOut:
        cap = container_of(request).cap
        act = getattr(cap.alerts, command)
        alert = act(identifier, principal=principal, reason=body.reason)
        return alert_out(alert, base_url=cap.config.base_url)

    # the permission is this command's: the dependency is given as an object, not a name
    run.__annotations__["principal"] = Annotated[Principal, Depends(Requires(permission))]

    api.post(
        f"{one}/{command}",
        responses=responses(400, 401, 403, 404, 409, 413, 422),
        summary=command.capitalize(),
        description=summary,
        operation_id=f"{command}_public_alert",
    )(run)


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

    @api.post(
        "/api/v1/cap/imports",
        openapi_extra=XML_BODY,
        responses=responses(400, 401, 403, 413, 422),
    )
    async def push(principal: Ingester, request: Request) -> ImportOut:
        """Import a CAP alert (or a feed embedding alerts) pushed by another agency: checked
        against the schema, refused whole when invalid; new messages become events and, by
        rule, warnings."""
        data = await xml_body(request)
        imports = container_of(request).cap.imports
        result = await run_in_threadpool(lambda: imports.push(data, principal=principal))
        return _import_out(result)

    @api.post(
        "/api/v1/cap/validate",
        openapi_extra=XML_BODY,
        responses=responses(400, 401, 403, 413, 422),
    )
    async def validate(principal: Reader, request: Request) -> ValidateOut:
        """Check a CAP document (the schema, then the rules beyond it); nothing is stored."""
        data = await xml_body(request)
        imports = container_of(request).cap.imports
        checked = await run_in_threadpool(lambda: imports.check(data, where="body"))
        problems = [item(p) for p in checked.problems]
        return ValidateOut(valid=not problems, alerts=len(checked.alerts), problems=problems)
