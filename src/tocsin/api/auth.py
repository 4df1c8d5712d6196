"""Bearer-token authentication and role checks as FastAPI dependencies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from tocsin.bootstrap import Container
from tocsin.core.users import Permission, User


class UnauthorizedError(Exception):
    """No valid bearer token was presented."""


def container_of(request: Request) -> Container:
    """The wired container behind the app."""
    container: Container = request.app.state.container
    return container


def requires(permission: Permission) -> Callable[..., User]:
    """A dependency that returns the token's user, if the user's role grants `permission`."""

    def dependency(request: Request, authorization: Annotated[str | None, Header()] = None) -> User:
        container = container_of(request)
        if authorization is None or not authorization.startswith("Bearer "):
            raise UnauthorizedError
        user = container.admin.authenticate(authorization.removeprefix("Bearer ").strip())
        if user is None:
            raise UnauthorizedError
        container.admin.require(user, permission)
        return user

    return dependency


def reader(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """Reads are open unless the settings require a token for them."""
    if container_of(request).settings.require_token_for_reads:
        requires(Permission.READ)(request, authorization)


Ingester = Annotated[User, Depends(requires(Permission.INGEST))]
Acknowledger = Annotated[User, Depends(requires(Permission.ACKNOWLEDGE))]
Silencer = Annotated[User, Depends(requires(Permission.SILENCE))]
Configurer = Annotated[User, Depends(requires(Permission.CONFIGURE))]
Reader = Annotated[None, Depends(reader)]
