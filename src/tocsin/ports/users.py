"""Port: users and their password hashes."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from tocsin.core.users import User


class UserStore(Protocol):
    """Users, their roles and units, and their password hashes (argon2)."""

    def save(self, user: User, *, now: datetime) -> None:
        """Create or update a user."""

    def get(self, name: str) -> User | None:
        """One user by name."""

    def listing(self) -> list[User]:
        """Every user by name."""

    def set_password(self, name: str, password_hash: str | None) -> None:
        """Store (or, with None, remove) a user's password hash."""

    def password_hash(self, name: str) -> str | None:
        """A user's password hash (None: the user signs in only with a token)."""
