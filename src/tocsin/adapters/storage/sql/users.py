"""Users and API token hashes on SQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from tocsin.adapters.storage import tables as t
from tocsin.core.users import Role, User, UserName


class SqlUsers:
    """The UserStore port in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def save(self, user: User, *, now: datetime) -> None:
        """Create or update a user."""
        u = t.users
        exists = self.conn.execute(select(u.c.name).where(u.c.name == user.name)).first()
        values = {"role": user.role.value, "unit": user.unit}
        if exists:
            self.conn.execute(update(u).where(u.c.name == user.name).values(**values))
        else:
            self.conn.execute(insert(u), [{"name": user.name, "created_at": now, **values}])

    def add_token(self, token_hash: str, *, user: str, label: str, now: datetime) -> None:
        """Store a token hash."""
        self.conn.execute(
            insert(t.api_tokens),
            [{"token_hash": token_hash, "user_name": user, "label": label, "created_at": now}],
        )

    def by_token(self, token_hash: str) -> User | None:
        """The user of a valid (not revoked) token."""
        u, k = t.users, t.api_tokens
        row = self.conn.execute(
            select(u.c.name, u.c.role, u.c.unit)
            .join(k, k.c.user_name == u.c.name)
            .where(k.c.token_hash == token_hash, k.c.revoked_at.is_(None))
        ).first()
        return User(UserName(row.name), Role(row.role), row.unit) if row else None

    def listing(self) -> list[tuple[User, int]]:
        """Every user by name, with the number of tokens not revoked."""
        u, k = t.users, t.api_tokens
        tokens = func.count(k.c.token_hash)
        rows = self.conn.execute(
            select(u.c.name, u.c.role, u.c.unit, tokens)
            .outerjoin(k, (k.c.user_name == u.c.name) & k.c.revoked_at.is_(None))
            .group_by(u.c.name, u.c.role, u.c.unit)
            .order_by(u.c.name)
        ).all()
        return [(User(UserName(r.name), Role(r.role), r.unit), int(r[3])) for r in rows]
