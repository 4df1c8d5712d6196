"""Silences: create (owned, reasoned, time-boxed), list, look at one with its trail, expire;
a second user approves or refuses a broad one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.auth import Reader, Silencer, container_of
from tocsin.api.fields import Code, Matcher, Moment, Reason
from tocsin.api.problems import CHANGE_ERRORS, READ_ERRORS, WRITE_ERRORS, responses
from tocsin.bootstrap import Container
from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.levels import Level
from tocsin.core.warnings.selectors import Selector, parse_matcher
from tocsin.core.warnings.silences import Silence, SilenceState, silence_json

SilenceId = Annotated[str, Path(min_length=1, max_length=128)]


class SilenceIn(BaseModel):
    """A new silence: what it matches, until when, and why (the owner is the token's user)."""

    model_config = ConfigDict(extra="forbid")
    region: Code | None = Field(default=None, description="the region and its subtree")
    domain: Code | None = Field(default=None, description="the domain and its sub-domains")
    levels: list[Level] = Field(default=[], max_length=4)
    matchers: list[Matcher] = Field(
        default=[], max_length=32, description="label matchers: name=value, !=, =~, !~"
    )
    starts_at: Moment | None = None
    ends_at: Moment
    reason: Reason = Field(min_length=1)


class ExpireIn(BaseModel):
    """Why a silence is ended early."""

    model_config = ConfigDict(extra="forbid")
    reason: Reason = ""


class RefuseIn(BaseModel):
    """Why a broad silence is refused."""

    model_config = ConfigDict(extra="forbid")
    reason: Reason = Field(min_length=1)


class SelectorOut(BaseModel):
    """What a silence matches."""

    region: str | None
    domain: str | None
    levels: list[Level]
    matchers: list[str]


class ApprovalOut(BaseModel):
    """Why a broad silence needs a second user, and that user's decision (null: none yet)."""

    needs: list[Literal["no_region", "wide_region", "all_levels_long"]]
    decision: Literal["approved", "refused"] | None
    decided_by: str | None
    decided_at: datetime | None
    note: str


class SilenceOut(BaseModel):
    """A silence and its state now (awaiting approval, refused, pending, active or expired)."""

    id: str
    selector: SelectorOut
    starts_at: datetime
    ends_at: datetime
    created_by: str
    reason: str
    created_at: datetime
    expired_by: str | None
    approval: ApprovalOut | None = Field(
        description="a broad silence's second user: why one is needed and what they decided "
        "(null: one person's word was enough)"
    )
    state: Literal["awaiting_approval", "refused", "pending", "active", "expired"]


class SilenceEntryOut(BaseModel):
    """One record of a silence's trail."""

    at: datetime
    actor: str
    kind: str
    reason: str


class SilenceDetailOut(SilenceOut):
    """A silence with its audit trail."""

    history: list[SilenceEntryOut]


def _out(silence: Silence, container: Container) -> SilenceOut:
    return SilenceOut.model_validate(silence_json(silence, container.clock.now()))


def _selector(body: SilenceIn, container: Container) -> Selector:
    problems: list[Problem] = []
    matchers = []
    for i, text in enumerate(body.matchers):
        try:
            matchers.append(parse_matcher(text))
        except ValueError as err:
            problems.append(Problem(f"matchers[{i}]", "matchers", str(err)))
    for name, value, known in (
        ("region", body.region, container.catalog.regions),
        ("domain", body.domain, container.catalog.domains),
    ):
        if value is not None and value not in known:
            problems.append(Problem("body", name, f"unknown {name} {value!r}"))
    if problems:
        raise InvalidInput(problems)
    return Selector(body.region, body.domain, frozenset(body.levels), tuple(matchers))


def router() -> APIRouter:
    """The silence routes."""
    api = APIRouter(tags=["silences"])

    @api.post("/api/v1/silences", status_code=201, responses=WRITE_ERRORS)
    def create_silence(body: SilenceIn, principal: Silencer, request: Request) -> SilenceOut:
        """Create a silence in the user's scope; it needs a reason and an end; its creation is
        notified."""
        container = container_of(request)
        silence = container.silences.create(
            _selector(body, container),
            principal=principal,
            reason=body.reason,
            ends_at=body.ends_at,
            starts_at=body.starts_at,
        )
        return _out(silence, container)

    @api.get("/api/v1/silences", responses=responses(401, 403, 422))
    def list_silences(
        principal: Reader,
        request: Request,
        state: Literal["current", "all", "awaiting_approval"] = "current",
    ) -> list[SilenceOut]:
        """Silences (awaiting approval, pending and active; `state=all` adds ended ones;
        `state=awaiting_approval`: only those waiting for a second user), newest first."""
        container = container_of(request)
        found = container.silences.find(
            include_expired=state == "all",
            state=SilenceState.AWAITING_APPROVAL if state == "awaiting_approval" else None,
            principal=principal,
        )
        return [_out(s, container) for s in found]

    @api.get("/api/v1/silences/{silence_id}", responses=READ_ERRORS)
    def get_silence(silence_id: SilenceId, principal: Reader, request: Request) -> SilenceDetailOut:
        """One silence with its audit trail."""
        container = container_of(request)
        silence = _out(container.silences.get(silence_id, principal=principal), container)
        history = [
            SilenceEntryOut.model_validate(r, from_attributes=True)
            for r in container.silences.history(silence_id, principal=principal)
        ]
        return SilenceDetailOut(**silence.model_dump(), history=history)

    @api.post("/api/v1/silences/{silence_id}/approve", responses=CHANGE_ERRORS)
    def approve_silence(silence_id: SilenceId, principal: Silencer, request: Request) -> SilenceOut:
        """Approve a broad silence (another user than its creator, within its scope)."""
        container = container_of(request)
        return _out(container.silences.approve(silence_id, principal=principal), container)

    @api.post("/api/v1/silences/{silence_id}/refuse", responses=CHANGE_ERRORS)
    def refuse_silence(
        silence_id: SilenceId, body: RefuseIn, principal: Silencer, request: Request
    ) -> SilenceOut:
        """Refuse a broad silence, saying why (another user than its creator, within its
        scope): it ends without ever suppressing; the refusal is notified."""
        container = container_of(request)
        done = container.silences.refuse(silence_id, principal=principal, reason=body.reason)
        return _out(done, container)

    @api.post("/api/v1/silences/{silence_id}/expire", responses=CHANGE_ERRORS)
    def expire_silence(
        silence_id: SilenceId, body: ExpireIn, principal: Silencer, request: Request
    ) -> SilenceOut:
        """End a silence now (in the user's scope); its expiry is notified."""
        container = container_of(request)
        done = container.silences.expire(silence_id, principal=principal, reason=body.reason)
        return _out(done, container)

    return api
