"""Sign-in for people: `POST /api/v1/session` (a user name and password, or an API token)
opens a session in an HttpOnly cookie; `GET` says who is signed in and gives the CSRF token the
page sends with writes; `DELETE` signs out. OpenID Connect sign-in is `tocsin.api.oidc`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from tocsin.api.auth import SESSION_COOKIE, SESSION_KEY, Reader, container_of
from tocsin.api.problems import responses
from tocsin.core.access import Principal
from tocsin.core.errors import InvalidInput, Problem
from tocsin.services.sign_in import Session

Secret = Annotated[StrictStr, Field(min_length=1, max_length=1_000)]


class SignInIn(BaseModel):
    """A user name and password, or an API token."""

    model_config = ConfigDict(extra="forbid")
    user: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None
    password: Secret | None = None
    token: Secret | None = None


class WhoOut(BaseModel):
    """Who is signed in, what they may do, and the CSRF token for writes."""

    user: str
    role: str
    unit: str | None
    scope: str = Field(description="the regions and domains this session sees, in words")
    permissions: list[str]
    via: str
    csrf: str | None = Field(description="send as X-CSRF-Token with every write (sessions)")
    expires_at: datetime | None


class SignedOutOut(BaseModel):
    """Whose session ended (false: the request carried a token, not a session)."""

    user: str
    ended: bool


def who(principal: Principal, session: Session | None) -> WhoOut:
    """The answer about a principal (and its session)."""
    return WhoOut(
        user=principal.name,
        role=principal.role.value,
        unit=principal.unit,
        scope=principal.scope.named,
        permissions=sorted(principal.permissions),
        via=principal.via.value,
        csrf=session.csrf if session else None,
        expires_at=session.expires_at if session else None,
    )


def set_cookie(request: Request, response: Response, session: Session) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure over TLS (or as configured)."""
    settings = container_of(request).settings
    secure = settings.cookie_secure
    if secure is None:
        forwarded = request.headers.get("x-forwarded-proto", "")
        secure = request.url.scheme == "https" or forwarded == "https"
    response.set_cookie(
        SESSION_COOKIE,
        session.secret,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/",
    )


def router() -> APIRouter:
    """The session routes."""
    api = APIRouter(tags=["session"])

    @api.post("/api/v1/session", responses=responses(400, 401, 413, 422, 429))
    def sign_in(body: Annotated[SignInIn, Body()], request: Request, response: Response) -> WhoOut:
        """Sign in with a user name and password, or an API token; sets the session cookie."""
        service = container_of(request).sign_in
        if body.token is not None and body.user is None and body.password is None:
            session = service.with_token(body.token)
        elif body.user is not None and body.password is not None and body.token is None:
            session = service.with_password(body.user, body.password)
        else:
            reason = "give either user and password, or token"
            raise InvalidInput([Problem("body", "user", reason)])
        set_cookie(request, response, session)
        return who(session.principal, session)

    @api.get("/api/v1/session", responses=responses(401, 403))
    def current(principal: Reader, request: Request) -> WhoOut:
        """Who is signed in (or whose token this is), and the session's CSRF token."""
        return who(principal, request.scope.get(SESSION_KEY))

    @api.delete("/api/v1/session", responses=responses(401, 403))
    def sign_out(principal: Reader, request: Request, response: Response) -> SignedOutOut:
        """Sign out: the session ends and its cookie is removed."""
        session: Session | None = request.scope.get(SESSION_KEY)
        if session is not None:
            container_of(request).sign_in.sign_out(session.secret)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return SignedOutOut(user=principal.name, ended=session is not None)

    return api
