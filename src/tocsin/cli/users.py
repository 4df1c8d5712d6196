"""User commands: add, list, token, revoke, rotate, password (docs/access.md).

The database and the services are imported inside the commands (see `tocsin.cli.main`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tocsin.cli.common import (
    DbOption,
    check_known,
    console,
    group,
    open_container,
    print_table,
    reported,
)
from tocsin.core.users import Permission, Role

if TYPE_CHECKING:
    from datetime import timedelta

    from tocsin.core.credentials import ApiToken

users_app = group("Users, their passwords and API tokens.")
UserNameArg = Annotated[str, typer.Argument(metavar="NAME", help="User name")]
TokenIdArg = Annotated[str, typer.Argument(metavar="TOKEN_ID", help="The token's id (tk_…)")]
ExpiresOption = Annotated[
    str | None,
    typer.Option("--expires", metavar="DURATION", help="Token lifetime, e.g. 90d or 12h"),
]


@users_app.command("add")
def users_add(
    name: UserNameArg,
    role: Annotated[Role, typer.Option(help="admin, analyst, duty_officer or unit_member")],
    unit: Annotated[
        str | None,
        typer.Option(metavar="UNIT", help="Responsible unit code (required but for admins)"),
    ] = None,
    db: DbOption = None,
    token: Annotated[bool, typer.Option(help="Also issue an API token")] = True,
    expires: ExpiresOption = None,
    keep_tokens: Annotated[
        bool, typer.Option(help="Keep the user's existing tokens valid (default: revoke them)")
    ] = False,
) -> None:
    """Create (or update) a user and print a new API token; an existing user's tokens are
    revoked unless --keep-tokens."""
    from tocsin.services.access import TokenRequest

    with reported():
        container = open_container(db)
        check_known("--unit", unit, container.catalog.units)
        existed = {u.name for u, _ in container.admin.users()}
        container.admin.add_user(name, role, unit=unit, actor="cli", keep_tokens=keep_tokens)
        again = " (updated; its tokens were revoked)" if name in existed and not keep_tokens else ""
        console.print(f"user {name} ({role.value}){again}", markup=False)
        if token:
            wanted = TokenRequest("cli", expires_in=_duration(expires))
            issued, secret = container.access.issue(name, wanted, actor="cli")
            console.print(f"token {issued.id}: {secret}", markup=False, soft_wrap=True)


def _duration(text: str | None) -> timedelta | None:
    from tocsin.cli.alerting import parse_duration

    return parse_duration(text) if text else None


@users_app.command("list")
def users_list(db: DbOption = None) -> None:
    """List users (name, role, unit) and every token (id, name, state, expiry)."""
    with reported():
        container = open_container(db)
        users = container.admin.users()
        tokens = container.access.tokens()
        now = container.clock.now()
    print_table(
        ("name", "role", "unit", "valid tokens"),
        ((u.name, u.role.value, u.unit or "", str(n)) for u, n in users),
        keys={"name"},
    )
    console.print(f"{len(users)} user(s)")
    print_table(
        ("token", "user", "name", "state", "expires", "limits"),
        (
            (
                k.id,
                k.user,
                k.name,
                k.state(now),
                k.expires_at.strftime("%Y-%m-%d %H:%M") if k.expires_at else "never",
                _limits(k),
            )
            for k in tokens
        ),
        keys={"token"},
    )
    console.print(f"{len(tokens)} token(s)")


def _limits(token: ApiToken) -> str:
    parts = [
        f"{kind}: {','.join(sorted(v))}"
        for kind, v in (
            ("may", token.permissions),
            ("regions", token.regions),
            ("domains", token.domains),
        )
        if v is not None
    ]
    return "; ".join(parts) or "as its user"


@users_app.command("token")
def users_token(
    name: UserNameArg,
    label: Annotated[str, typer.Option("--name", metavar="LABEL", help="The token's name")],
    expires: ExpiresOption = None,
    permission: Annotated[
        list[Permission] | None,
        typer.Option(metavar="PERMISSION", help="Only this permission (repeat); default: all"),
    ] = None,
    region: Annotated[
        list[str] | None, typer.Option(metavar="REGION", help="Only this region and below")
    ] = None,
    domain: Annotated[
        list[str] | None, typer.Option(metavar="DOMAIN", help="Only this domain and below")
    ] = None,
    db: DbOption = None,
) -> None:
    """Issue a named token for a user, optionally expiring and limited (prints its secret)."""
    from tocsin.services.access import TokenRequest

    wanted = TokenRequest(
        label, expires_in=_duration(expires), permissions=permission, regions=region, domains=domain
    )
    with reported():
        container = open_container(db)
        issued, secret = container.access.issue(name, wanted, actor="cli")
    console.print(f"token {issued.id}: {secret}", markup=False, soft_wrap=True)


@users_app.command("revoke")
def users_revoke(
    token_id: TokenIdArg,
    db: DbOption = None,
) -> None:
    """Revoke a token now (sessions opened with it end too)."""
    with reported():
        container = open_container(db)
        token = container.access.revoke(token_id, actor="cli")
    console.print(f"revoked {token.id} ({token.name}) of {token.user}", markup=False)


@users_app.command("rotate")
def users_rotate(
    token_id: TokenIdArg,
    db: DbOption = None,
) -> None:
    """Replace a token by a new one (same name, lifetime and limits); prints the new secret."""
    with reported():
        container = open_container(db)
        token, secret = container.access.rotate(token_id, actor="cli")
    console.print(f"token {token.id} replaces {token_id}: {secret}", markup=False, soft_wrap=True)


@users_app.command("password")
def users_password(
    name: UserNameArg,
    db: DbOption = None,
) -> None:
    """Set a user's password for the dashboard's sign-in (read from standard input, first
    line; at least 12 characters)."""
    import sys

    password = sys.stdin.readline().rstrip("\n")
    with reported():
        container = open_container(db)
        container.sign_in.set_password(name, password, actor="cli")
    console.print(f"password set for {name}", markup=False)
