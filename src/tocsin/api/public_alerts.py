"""Public alerts (CAP 1.2): draft, edit, submit, approve, reject, publish, withdraw; list, show,
preview the XML with its checks, history.

Drafting and submitting need the `draft` permission, approving, rejecting and publishing the
`publish` permission (and a second person: whoever drafted or edited an alert may not approve
it, 403), importing the `ingest` permission; every alert's regions must lie in the caller's
scope. A message that fails the OASIS schema or a rule beyond it is refused with 422, each
problem naming the rule and where. Other agencies' alerts: `api/cap_imports.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from tocsin.api.audit import AuditOut, audit_out
from tocsin.api.auth import Reader, Requires, container_of
from tocsin.api.fields import CapIdentifier, Code, Moment, Reason, Text
from tocsin.api.problems import CHANGE_ERRORS, READ_ERRORS, ProblemItem, item, responses
from tocsin.core.access import Principal
from tocsin.core.cap.lifecycle import AlertState, PublicAlert
from tocsin.core.cap.message import Certainty, Info, Urgency
from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.levels import Level
from tocsin.core.users import Permission
from tocsin.services.publication import Choices

CanDraft = Annotated[Principal, Depends(Requires(Permission.DRAFT))]
CanPublish = Annotated[Principal, Depends(Requires(Permission.PUBLISH))]
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


def _choices(body: ChoicesIn) -> Choices:
    texts = {
        lang: {k: v for k, v in t.model_dump().items() if v is not None}
        for lang, t in body.texts.items()
    }
    return Choices(body.urgency, body.certainty, body.onset, body.expires, texts)


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

    @api.post(base, status_code=201, responses=CHANGE_ERRORS)
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

    @api.get(one, responses=READ_ERRORS)
    def get_alert(identifier: CapIdentifier, principal: Reader, request: Request) -> PublicAlertOut:
        """One public alert with its CAP content."""
        cap = container_of(request).cap
        return alert_out(
            cap.views.get(identifier, principal=principal), base_url=cap.config.base_url
        )

    @api.get(one + "/preview", responses=READ_ERRORS)
    def preview(identifier: CapIdentifier, principal: Reader, request: Request) -> PreviewOut:
        """The CAP document as it would leave now, with every problem of the schema and rules."""
        found = container_of(request).cap.views.preview(identifier, principal=principal)
        problems = [item(p) for p in found.problems]
        return PreviewOut(valid=not problems, xml=found.xml, problems=problems)

    @api.get(one + "/history", responses=READ_ERRORS)
    def history(identifier: CapIdentifier, principal: Reader, request: Request) -> list[AuditOut]:
        """Every step: who drafted, edited, submitted, approved, published it, and why."""
        trail = container_of(request).cap.views.history(identifier, principal=principal)
        return audit_out(trail)

    _commands(api, one)
    return api


def _commands(api: APIRouter, one: str) -> None:
    """The lifecycle's commands."""

    @api.post(one + "/edit", responses=CHANGE_ERRORS)
    def edit(
        identifier: CapIdentifier, body: ChoicesIn, principal: CanDraft, request: Request
    ) -> PublicAlertOut:
        """Change a draft (or a rejected alert, which becomes a draft again)."""
        cap = container_of(request).cap
        alert = cap.alerts.edit(
            identifier, principal=principal, choices=_choices(body), reason=body.reason
        )
        return alert_out(alert, base_url=cap.config.base_url)

    for command, permission, summary in COMMANDS:
        _command(api, one, command=command, permission=permission, summary=summary)

    @api.post(one + "/reject", responses=CHANGE_ERRORS)
    def reject(
        identifier: CapIdentifier, body: RejectIn, principal: CanPublish, request: Request
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
        identifier: CapIdentifier, body: ReasonIn, principal: Principal, request: Request
    ) -> PublicAlertOut:
        cap = container_of(request).cap
        act = getattr(cap.alerts, command)
        alert = act(identifier, principal=principal, reason=body.reason)
        return alert_out(alert, base_url=cap.config.base_url)

    # the permission is this command's: the dependency is given as an object, not a name
    run.__annotations__["principal"] = Annotated[Principal, Depends(Requires(permission))]

    api.post(
        f"{one}/{command}",
        responses=CHANGE_ERRORS,
        summary=command.capitalize(),
        description=summary,
        operation_id=f"{command}_public_alert",
    )(run)
