"""API tokens for machines: list, issue, revoke, rotate. Users and their tokens for
administrators (`manage_users`); everyone else sees and manages only their own."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.auth import Reader, container_of
from tocsin.api.fields import Code, Name
from tocsin.api.problems import READ_ERRORS, responses
from tocsin.core.access import Principal
from tocsin.core.credentials import ApiToken
from tocsin.core.errors import Forbidden, NotFound
from tocsin.core.users import Permission
from tocsin.services.access import TokenRequest

TokenId = Annotated[str, Path(min_length=1, max_length=64)]
UserName = Annotated[str, Path(min_length=1, max_length=64)]


class TokenIn(BaseModel):
    """A new token: its name, lifetime and limits (left out: all its user may)."""

    model_config = ConfigDict(extra="forbid")
    name: Name
    user: Code | None = Field(default=None, description="for another user (manage_users only)")
    expires_in_days: float | None = Field(default=None, gt=0, le=3650)
    permissions: list[Permission] | None = Field(default=None, max_length=6)
    regions: list[Code] | None = Field(default=None, max_length=256)
    domains: list[Code] | None = Field(default=None, max_length=256)


class TokenOut(BaseModel):
    """A token without its secret."""

    id: str
    user: str
    name: str
    state: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    permissions: list[str] | None
    regions: list[str] | None
    domains: list[str] | None


class IssuedOut(TokenOut):
    """A new token with its secret, shown this once."""

    secret: str


class UserOut(BaseModel):
    """A user: role, unit and how many valid tokens they hold."""

    name: str
    role: str
    unit: str | None
    tokens: int


def token_out(token: ApiToken, now: datetime) -> TokenOut:
    """A token as listed."""
    return TokenOut(
        id=token.id,
        user=token.user,
        name=token.name,
        state=token.state(now),
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
        permissions=sorted(token.permissions) if token.permissions is not None else None,
        regions=list(token.regions) if token.regions is not None else None,
        domains=list(token.domains) if token.domains is not None else None,
    )


def _may_manage(principal: Principal, user: str) -> None:
    """Forbidden unless the token is the principal's own or the principal manages users."""
    if user != principal.name and not principal.may(Permission.MANAGE_USERS):
        raise Forbidden(f"{principal.name} may manage only their own tokens")


def _no_token_mints(principal: Principal) -> None:
    """A token (or a session opened with one) cannot make or renew tokens: its holder signs in
    with a password or the identity provider."""
    if principal.token_id is not None:
        raise Forbidden("a token cannot issue or rotate tokens: sign in with a password")


def router() -> APIRouter:
    """The token and user routes."""
    api = APIRouter(tags=["tokens"])
    writes = responses(400, 401, 403, 404, 413, 422, 429)

    @api.get("/api/v1/tokens", responses=responses(401, 403))
    def list_tokens(principal: Reader, request: Request) -> list[TokenOut]:
        """Tokens: your own; every user's with manage_users."""
        container = container_of(request)
        whose = None if principal.may(Permission.MANAGE_USERS) else principal.name
        now = container.clock.now()
        return [token_out(k, now) for k in container.access.tokens(user=whose)]

    @api.get("/api/v1/users/{name}/tokens", responses=READ_ERRORS)
    def user_tokens(name: UserName, principal: Reader, request: Request) -> list[TokenOut]:
        """One user's tokens (your own, or anyone's with manage_users)."""
        _may_manage(principal, name)
        container = container_of(request)
        if name not in {u.name for u, _ in container.admin.users()}:
            raise NotFound(f"no user {name!r}")
        now = container.clock.now()
        return [token_out(k, now) for k in container.access.tokens(user=name)]

    @api.post("/api/v1/tokens", status_code=201, responses=writes)
    def issue(body: TokenIn, principal: Reader, request: Request) -> IssuedOut:
        """Issue a token (its secret is shown once)."""
        _no_token_mints(principal)
        user = body.user or principal.name
        _may_manage(principal, user)
        days = body.expires_in_days
        wanted = TokenRequest(
            body.name,
            expires_in=timedelta(days=days) if days is not None else None,
            permissions=body.permissions,
            regions=body.regions,
            domains=body.domains,
        )
        container = container_of(request)
        token, secret = container.access.issue(user, wanted, actor=principal.name)
        listed = token_out(token, container.clock.now())
        return IssuedOut(**listed.model_dump(), secret=secret)

    def _owned(request: Request, principal: Principal, token_id: str) -> None:
        found = [k for k in container_of(request).access.tokens() if k.id == token_id]
        if not found:
            raise NotFound(f"no token {token_id!r}")
        _may_manage(principal, found[0].user)

    @api.post("/api/v1/tokens/{token_id}/revoke", responses=writes)
    def revoke(token_id: TokenId, principal: Reader, request: Request) -> TokenOut:
        """Revoke a token now (sessions opened with it end too)."""
        _owned(request, principal, token_id)
        container = container_of(request)
        container.access.revoke(token_id, actor=principal.name)
        now = container.clock.now()
        return next(token_out(k, now) for k in container.access.tokens() if k.id == token_id)

    @api.post("/api/v1/tokens/{token_id}/rotate", status_code=201, responses=writes)
    def rotate(token_id: TokenId, principal: Reader, request: Request) -> IssuedOut:
        """Replace a token by a new one with the same name, lifetime and limits."""
        _no_token_mints(principal)
        _owned(request, principal, token_id)
        container = container_of(request)
        token, secret = container.access.rotate(token_id, actor=principal.name)
        listed = token_out(token, container.clock.now())
        return IssuedOut(**listed.model_dump(), secret=secret)

    @api.get("/api/v1/users", responses=responses(401, 403))
    def users(principal: Reader, request: Request) -> list[UserOut]:
        """Every user with role, unit and valid token count (manage_users only)."""
        if not principal.may(Permission.MANAGE_USERS):
            raise Forbidden(f"role {principal.role.value} may not manage_users")
        return [
            UserOut(name=u.name, role=u.role.value, unit=u.unit, tokens=n)
            for u, n in container_of(request).admin.users()
        ]

    return api
