"""API tokens and sign-ins on SQL (secrets stored as hashes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update

from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.times import aware, must
from tocsin.core.credentials import ApiToken, SignIn, SignInMethod
from tocsin.core.users import Permission


class SqlCredentials:
    """The CredentialStore port in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_token(self, token: ApiToken, *, secret_hash: str) -> None:
        """Store a new token."""
        row = {
            "token_hash": secret_hash,
            "id": token.id,
            "user_name": token.user,
            "label": token.name,
            "created_at": token.created_at,
            "expires_at": token.expires_at,
            "permissions": sorted(token.permissions) if token.permissions is not None else None,
            "regions": list(token.regions) if token.regions is not None else None,
            "domains": list(token.domains) if token.domains is not None else None,
        }
        self.conn.execute(insert(t.api_tokens), [row])

    def token(self, secret_hash: str) -> ApiToken | None:
        """The token with this secret hash."""
        k = t.api_tokens
        row = self.conn.execute(select(k).where(k.c.token_hash == secret_hash)).mappings().first()
        return _token(row) if row else None

    def tokens(self, *, user: str | None = None) -> list[ApiToken]:
        """Every token (of `user`), oldest first."""
        k = t.api_tokens
        query = select(k).order_by(k.c.created_at, k.c.id)
        if user is not None:
            query = query.where(k.c.user_name == user)
        return [_token(r) for r in self.conn.execute(query).mappings()]

    def revoke_tokens(self, ids: Sequence[str], *, now: datetime) -> None:
        """Revoke tokens (and end the sign-ins opened with them)."""
        if not ids:
            return
        k, s = t.api_tokens, t.sign_ins
        self.conn.execute(
            update(k).where(k.c.id.in_(list(ids)), k.c.revoked_at.is_(None)).values(revoked_at=now)
        )
        self.conn.execute(
            update(s)
            .where(s.c.token_id.in_(list(ids)), s.c.ended_at.is_(None))
            .values(ended_at=now)
        )

    def add_sign_in(self, sign_in: SignIn, *, secret_hash: str) -> None:
        """Store a new sign-in."""
        row = {
            "secret_hash": secret_hash,
            "user_name": sign_in.user,
            "method": sign_in.method.value,
            "token_id": sign_in.token_id,
            "created_at": sign_in.created_at,
            "expires_at": sign_in.expires_at,
            "ended_at": sign_in.ended_at,
        }
        self.conn.execute(insert(t.sign_ins), [row])

    def sign_in(self, secret_hash: str) -> SignIn | None:
        """The sign-in with this secret hash."""
        s = t.sign_ins
        row = self.conn.execute(select(s).where(s.c.secret_hash == secret_hash)).mappings().first()
        if row is None:
            return None
        return SignIn(
            row["user_name"],
            SignInMethod(row["method"]),
            must(row["created_at"]),
            must(row["expires_at"]),
            row["token_id"],
            aware(row["ended_at"]),
        )

    def end_sign_ins(
        self, *, now: datetime, secret_hash: str | None = None, user: str | None = None
    ) -> int:
        """End one sign-in or every open one of a user."""
        s = t.sign_ins
        which = s.c.secret_hash == secret_hash if secret_hash is not None else s.c.user_name == user
        done = self.conn.execute(
            update(s).where(which, s.c.ended_at.is_(None)).values(ended_at=now)
        )
        return int(done.rowcount or 0)

    def forget(self, *, before: datetime) -> int:
        """Delete what ended or expired before `before`."""
        s, k = t.sign_ins, t.api_tokens
        gone = self.conn.execute(
            delete(s).where(or_(s.c.ended_at < before, s.c.expires_at < before))
        ).rowcount
        gone += self.conn.execute(
            delete(k).where(
                or_(
                    k.c.revoked_at < before,
                    and_(k.c.expires_at.is_not(None), k.c.expires_at < before),
                )
            )
        ).rowcount
        return int(gone or 0)


def _token(r: Mapping[Any, Any]) -> ApiToken:
    listed = r["permissions"]
    permissions = frozenset(Permission(p) for p in listed) if listed is not None else None
    return ApiToken(
        id=r["id"],
        user=r["user_name"],
        name=r["label"],
        created_at=must(r["created_at"]),
        expires_at=aware(r["expires_at"]),
        permissions=permissions,
        regions=tuple(r["regions"]) if r["regions"] is not None else None,
        domains=tuple(r["domains"]) if r["domains"] is not None else None,
        revoked_at=aware(r["revoked_at"]),
    )
