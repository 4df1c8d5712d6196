"""Users and their password hashes on SQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

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

    def get(self, name: str) -> User | None:
        """One user by name."""
        u = t.users
        row = self.conn.execute(select(u.c.name, u.c.role, u.c.unit).where(u.c.name == name))
        found = row.first()
        return User(UserName(found.name), Role(found.role), found.unit) if found else None

    def listing(self) -> list[User]:
        """Every user by name."""
        u = t.users
        rows = self.conn.execute(select(u.c.name, u.c.role, u.c.unit).order_by(u.c.name))
        return [User(UserName(r.name), Role(r.role), r.unit) for r in rows]

    def set_password(self, name: str, password_hash: str | None) -> None:
        """Store or remove a password hash."""
        u = t.users
        self.conn.execute(update(u).where(u.c.name == name).values(password_hash=password_hash))

    def password_hash(self, name: str) -> str | None:
        """A user's password hash."""
        u = t.users
        found: str | None = self.conn.execute(
            select(u.c.password_hash).where(u.c.name == name)
        ).scalar()
        return found
