"""Bearer-token authentication and role checks: one dependency, two status codes.

No token, a token that is not `Bearer …`, or a token no user holds: 401 with
`WWW-Authenticate: Bearer`. A valid token whose role lacks the permission: 403. Reads need a
token only when the settings say so (`TOCSIN_REQUIRE_TOKEN_FOR_READS`); writes always do.
Requests with a body are authenticated before the body is read (`tocsin.api.limits`); the user
found there is reused here, where the route's permission is checked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from tocsin.bootstrap import Container
from tocsin.core.errors import Unauthenticated
from tocsin.core.users import Permission, User

SCHEME = "bearer"
bearer = HTTPBearer(
    scheme_name=SCHEME,
    auto_error=False,
    description="An API token (`tocsin users add NAME --role ROLE` prints one).",
)
USER_KEY = "tocsin.user"


def container_of(request: Request) -> Container:
    """The wired container behind the app."""
    container: Container = request.app.state.container
    return container


def token_of(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer TOKEN` header (scheme case-insensitive)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != SCHEME:
        return None
    return token.strip() or None


def authenticate(container: Container, token: str | None) -> User:
    """The token's user; Unauthenticated when there is no token or nobody holds it."""
    if not token:
        raise Unauthenticated("a bearer token is required (Authorization: Bearer TOKEN)")
    user = container.admin.authenticate(token)
    if user is None:
        raise Unauthenticated("the bearer token is not valid")
    return user


def authorize(container: Container, token: str | None, permission: Permission) -> User:
    """The token's user if its role grants `permission`; Unauthenticated or Forbidden if not."""
    user = authenticate(container, token)
    container.admin.require(user, permission)  # Forbidden when the role may not
    return user


def needs_token(container: Container, permission: Permission) -> bool:
    """Whether this permission needs a token on this server (reads may be open)."""
    return permission is not Permission.READ or container.settings.require_token_for_reads


class Requires:
    """The dependency that guards a route with a permission; returns the user (None for an
    open read)."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> User | None:
        """Check the request's token (or reuse the user the body guard found); the store is
        read in a worker thread, and only when the token's user is not known already."""
        container = container_of(request)
        if not needs_token(container, self.permission):
            return None
        user: User | None = request.scope.get(USER_KEY)  # found by the body guard
        token = credentials.credentials if credentials else None
        if user is None and token:
            user = container.admin.known_user(token)
        if user is None:
            user = await run_in_threadpool(authenticate, container, token)
        container.admin.require(user, self.permission)  # Forbidden when the role may not
        return user


Reader = Annotated[User | None, Depends(Requires(Permission.READ))]
# Writes always need a token (`needs_token`), so these dependencies never give None.
Ingester = Annotated[User, Depends(Requires(Permission.INGEST))]
Acknowledger = Annotated[User, Depends(Requires(Permission.ACKNOWLEDGE))]
Silencer = Annotated[User, Depends(Requires(Permission.SILENCE))]
