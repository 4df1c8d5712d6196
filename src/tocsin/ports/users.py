"""Port: users and the hashes of their API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from tocsin.core.users import User


class UserStore(Protocol):
    """Users, their roles and their tokens (only hashes are stored)."""

    def save(self, user: User, *, now: datetime) -> None:
        """Create or update a user."""

    def add_token(self, token_hash: str, *, user: str, label: str, now: datetime) -> None:
        """Store a token's hash for a user."""

    def by_token(self, token_hash: str) -> User | None:
        """The user owning a valid (not revoked) token."""

    def listing(self) -> list[tuple[User, int]]:
        """Every user by name, with the number of tokens not revoked."""
