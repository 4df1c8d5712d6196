"""Authentication and permission checks: the principal of every request, one dependency.

Every request is authenticated before routing (`tocsin.api.limits`): an `Authorization: Bearer`
API token, or the session cookie of a signed-in person. The principal found there (its
permissions and scope, `tocsin.core.access`) is kept in the request; a route's dependency checks
the route's permission and hands the principal to the service, which applies the scope. No or a
bad credential: 401 with `WWW-Authenticate: Bearer`; a principal that may not: 403.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from tocsin.bootstrap import Container
from tocsin.core.access import Principal, require
from tocsin.core.errors import Unauthenticated
from tocsin.core.users import Permission

SCHEME = "bearer"
bearer = HTTPBearer(
    scheme_name=SCHEME,
    auto_error=False,
    description="An API token (`tocsin users add NAME --role ROLE --unit UNIT` prints one).",
)
SESSION_COOKIE = "tocsin_session"
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    scheme_name="session",
    auto_error=False,
    description="A signed-in person's session (POST /api/v1/session); writes also need the "
    "`X-CSRF-Token` header the sign-in returned.",
)
PRINCIPAL_KEY = "tocsin.principal"
SESSION_KEY = "tocsin.session"  # the signed-in session behind the request, if any


def container_of(request: Request) -> Container:
    """The wired container behind the app."""
    container: Container = request.app.state.container
    return container


BASIC = "basic"  # `Basic base64(user:TOKEN)`: the token is the password (InfluxDB 1.x clients)
QUERY_PASSWORD = "query:p"  # the token as the query parameter `p` (InfluxDB 1.x's `u`/`p`)


def token_of(
    authorization: str | None, *, schemes: tuple[str, ...] = (SCHEME,), query: bytes = b""
) -> str | None:
    """The token of an `Authorization: Bearer TOKEN` header (scheme case-insensitive). A route
    may take other schemes: `Token TOKEN` (InfluxDB clients), `Basic` with the token as the
    password, the query parameter `p` (InfluxDB 1.x's `u` and `p`, when no header gives one)."""
    scheme, _, token = (authorization or "").partition(" ")
    scheme = scheme.lower()
    if scheme == BASIC and BASIC in schemes:
        return _basic_password(token)
    if scheme in schemes and scheme != BASIC:
        return token.strip() or None
    if authorization is None and QUERY_PASSWORD in schemes:
        return _query_password(query)
    return None


def _basic_password(credentials: str) -> str | None:
    """The password of `Basic` credentials (None when they cannot be read)."""
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    _, colon, password = decoded.partition(":")
    return password.strip() or None if colon else None


def _query_password(query: bytes) -> str | None:
    """The query parameter `p` (the last one given), None when absent or empty."""
    found = [v for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True) if k == "p"]
    return found[-1].strip() or None if found else None


def authenticate(container: Container, token: str | None) -> Principal:
    """The token's principal; Unauthenticated when there is no token or nobody holds it."""
    if not token:
        raise Unauthenticated("a bearer token is required (Authorization: Bearer TOKEN)")
    principal = container.access.authenticate(token)
    if principal is None:
        raise Unauthenticated("the bearer token is not valid")
    return principal


def principal_of(request: Request) -> Principal:
    """The principal the guard found for this request (Unauthenticated if none)."""
    principal: Principal | None = request.scope.get(PRINCIPAL_KEY)
    if principal is None:
        raise Unauthenticated("a bearer token is required (Authorization: Bearer TOKEN)")
    return principal


class Requires:
    """The dependency that guards a route with a permission; returns the principal."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(
        self,
        request: Request,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        _session: Annotated[str | None, Depends(session_cookie)],
    ) -> Principal:
        """The request's principal, if it holds the permission (Forbidden if not)."""
        principal = principal_of(request)
        require(principal, self.permission)
        return principal


Reader = Annotated[Principal, Depends(Requires(Permission.READ))]
Ingester = Annotated[Principal, Depends(Requires(Permission.INGEST))]
Acknowledger = Annotated[Principal, Depends(Requires(Permission.ACKNOWLEDGE))]
Silencer = Annotated[Principal, Depends(Requires(Permission.SILENCE))]
Configurer = Annotated[Principal, Depends(Requires(Permission.CONFIGURE))]
UserManager = Annotated[Principal, Depends(Requires(Permission.MANAGE_USERS))]
Responder = Annotated[Principal, Depends(Requires(Permission.RESPOND))]
Commander = Annotated[Principal, Depends(Requires(Permission.COMMAND))]
