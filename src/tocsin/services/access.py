"""Access use cases: principals from API tokens, and the tokens' life (issue, list, revoke,
rotate).

Every service takes the acting `Principal` and asks `tocsin.core.access` whether it may see or do
what it asks; this service makes principals from tokens. A token is named, may expire, and may
carry fewer permissions and a narrower scope than its user (never more); only a hash of its
secret is stored, and the secret is shown once. People's sign-ins are `tocsin.services.sign_in`.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tocsin.core.access import (
    Principal,
    Scope,
    Via,
    domain_subtrees,
    region_subtrees,
    restricted,
    user_principal,
)
from tocsin.core.audit import AuditRecord
from tocsin.core.catalog import Catalog
from tocsin.core.credentials import ApiToken, CredentialState
from tocsin.core.errors import InvalidInput, NotFound, Problem
from tocsin.core.users import PERMISSIONS, Permission, User
from tocsin.ports import Clock, Store, StoreSession

TOKEN_PREFIX = "tcs_"


def hash_token(token: str) -> str:
    """The stored form of an API token or a sign-in secret (long random strings: a plain
    digest suffices; passwords get argon2)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret(prefix: str = TOKEN_PREFIX) -> str:
    """A fresh secret: 256 random bits, URL-safe."""
    return prefix + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """What a new token is: its name, lifetime, and what it may do (None: all its user may)."""

    name: str
    expires_in: timedelta | None = None
    permissions: Collection[Permission] | None = None
    regions: Collection[str] | None = None
    domains: Collection[str] | None = None


class CredentialChanges:
    """How many times this process changed who holds what (a token revoked or rotated, a user
    saved again): a principal kept for a token is good only while the count is unchanged."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def bump(self) -> None:
        """Count one change."""
        with self._lock:
            self._count += 1

    @property
    def count(self) -> int:
        """Changes so far."""
        return self._count


@dataclass(frozen=True)
class AccessService:
    """Principals from credentials, over the catalogue that gives units their scope."""

    store: Store
    clock: Clock
    catalog: Catalog
    changes: CredentialChanges = field(default_factory=CredentialChanges)

    def principal(self, user: User, *, via: Via = Via.TOKEN) -> Principal:
        """The user's principal: the role's permissions, the unit's scope."""
        return user_principal(
            user,
            units=self.catalog.units,
            tree=self.catalog.regions,
            domains=self.catalog.domains,
            via=via,
        )

    def token_principal(self, token: ApiToken, user: User, *, via: Via = Via.TOKEN) -> Principal:
        """The principal of a token: its user's, narrowed to what the token carries."""
        return restricted(
            self.principal(user, via=via),
            permissions=token.permissions,
            scope=self._scope(token.regions, token.domains),
            token_id=token.id,
        )

    def _scope(self, regions: Collection[str] | None, domains: Collection[str] | None) -> Scope:
        if regions is None and domains is None:
            return Scope()
        return Scope(
            region_subtrees(self.catalog.regions, regions) if regions is not None else None,
            domain_subtrees(self.catalog.domains, domains) if domains is not None else None,
            "token: "
            + "; ".join(
                f"{kind} {', '.join(sorted(v))}"
                for kind, v in (("regions", regions), ("domains", domains))
                if v is not None
            ),
        )

    def authenticate(self, token: str) -> Principal | None:
        """The principal of a valid (not expired, not revoked) API token, or None."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            found = tx.credentials.token(hash_token(token))
            user = tx.users.get(found.user) if found is not None else None
        if found is None or user is None or found.state(now) != CredentialState.VALID:
            return None
        return self.token_principal(found, user)

    def issue(self, user_name: str, request: TokenRequest, *, actor: str) -> tuple[ApiToken, str]:
        """A new token for a user; returns it and its secret (shown once, stored hashed)."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            user = tx.users.get(user_name)
            if user is None:
                raise NotFound(f"no user {user_name!r}")
            token = self._checked(user, request, now=now)
            secret = new_secret()
            tx.credentials.add_token(token, secret_hash=hash_token(secret))
            tx.audit.append([_record(now, actor, "token.issued", token, _scope_json(token))])
        return token, secret

    def _checked(self, user: User, request: TokenRequest, *, now: datetime) -> ApiToken:
        """The token a request describes, or InvalidInput naming what it may not carry."""
        problems: list[Problem] = []
        if not request.name.strip():
            problems.append(Problem("token", "name", "a token needs a name"))
        if request.expires_in is not None and request.expires_in <= timedelta(0):
            problems.append(Problem("token", "expires_in", "must be in the future"))
        extra = set(request.permissions or ()) - PERMISSIONS[user.role]
        if extra:
            shown = ", ".join(sorted(extra))
            reason = f"role {user.role.value} may not {shown}: a token carries at most its user's"
            problems.append(Problem("token", "permissions", reason))
        problems += self._scope_problems(user, request)
        if problems:
            raise InvalidInput(problems)
        return ApiToken(
            id="tk_" + secrets.token_hex(8),
            user=user.name,
            name=request.name.strip(),
            created_at=now,
            expires_at=now + request.expires_in if request.expires_in else None,
            permissions=frozenset(request.permissions) if request.permissions is not None else None,
            regions=tuple(sorted(request.regions)) if request.regions is not None else None,
            domains=tuple(sorted(request.domains)) if request.domains is not None else None,
        )

    def _scope_problems(self, user: User, request: TokenRequest) -> list[Problem]:
        """Regions and domains a token may not name: unknown, or outside its user's scope."""
        own = self.principal(user).scope
        problems = []
        for kind, wanted, known, allowed in (
            ("regions", request.regions, self.catalog.regions.regions, own.regions),
            ("domains", request.domains, self.catalog.domains, own.domains),
        ):
            for code in sorted(wanted or ()):
                if code not in known:
                    problems.append(Problem("token", kind, f"unknown {kind[:-1]} {code!r}"))
                elif allowed is not None and code not in allowed:
                    reason = f"{code} is outside the scope of {user.name} ({own.named})"
                    problems.append(Problem("token", kind, reason))
        return problems

    def tokens(self, *, user: str | None = None) -> list[ApiToken]:
        """Every token (of a user), oldest first; secrets are never shown again."""
        with self.store.transaction() as tx:
            return tx.credentials.tokens(user=user)

    def revoke(self, token_id: str, *, actor: str) -> ApiToken:
        """Revoke a token now (and end the sign-ins opened with it)."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            token = _by_id(tx, token_id)
            tx.credentials.revoke_tokens([token.id], now=now)
            tx.audit.append([_record(now, actor, "token.revoked", token, {})])
        self.changes.bump()
        return token

    def rotate(self, token_id: str, *, actor: str) -> tuple[ApiToken, str]:
        """Replace a token by a new one with the same name, lifetime and limits; the old one is
        revoked in the same transaction."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            old = _by_id(tx, token_id)
            if old.state(now) == CredentialState.REVOKED:
                raise InvalidInput([Problem("token", "id", f"token {token_id} is revoked")])
            lifetime = old.expires_at - old.created_at if old.expires_at else None
            secret = new_secret()
            token = ApiToken(
                id="tk_" + secrets.token_hex(8),
                user=old.user,
                name=old.name,
                created_at=now,
                expires_at=now + lifetime if lifetime else None,
                permissions=old.permissions,
                regions=old.regions,
                domains=old.domains,
            )
            tx.credentials.revoke_tokens([old.id], now=now)
            tx.credentials.add_token(token, secret_hash=hash_token(secret))
            details = {"replaces": old.id, **_scope_json(token)}
            tx.audit.append([_record(now, actor, "token.rotated", token, details)])
        self.changes.bump()
        return token, secret


def revoke_all(tx: StoreSession, user: str, *, actor: str, now: datetime) -> int:
    """Revoke every valid token of a user and end its sign-ins, in the caller's transaction."""
    live = [k for k in tx.credentials.tokens(user=user) if k.state(now) == CredentialState.VALID]
    tx.credentials.revoke_tokens([k.id for k in live], now=now)
    tx.credentials.end_sign_ins(now=now, user=user)
    tx.audit.append([_record(now, actor, "token.revoked", k, {"all": True}) for k in live])
    return len(live)


def _by_id(tx: StoreSession, token_id: str) -> ApiToken:
    found = next((k for k in tx.credentials.tokens() if k.id == token_id), None)
    if found is None:
        raise NotFound(f"no token {token_id!r}")
    return found


def _scope_json(token: ApiToken) -> dict[str, Any]:
    return {
        "name": token.name,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "permissions": sorted(token.permissions) if token.permissions is not None else None,
        "regions": list(token.regions) if token.regions is not None else None,
        "domains": list(token.domains) if token.domains is not None else None,
    }


def _record(
    now: datetime, actor: str, kind: str, token: ApiToken, details: dict[str, Any]
) -> AuditRecord:
    return AuditRecord(now, actor, kind, "user", token.user, f"token {token.id}", details)
