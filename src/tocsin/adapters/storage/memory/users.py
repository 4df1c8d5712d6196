"""Users and password hashes in memory."""

from __future__ import annotations

from datetime import datetime

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.users import User


class MemoryUsers:
    """The UserStore port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def save(self, user: User, *, now: datetime) -> None:
        """Create or update a user."""
        self.state.users[user.name] = user

    def get(self, name: str) -> User | None:
        """One user by name."""
        return self.state.users.get(name)

    def listing(self) -> list[User]:
        """Every user by name."""
        return [u for _, u in sorted(self.state.users.items())]

    def set_password(self, name: str, password_hash: str | None) -> None:
        """Store or remove a password hash."""
        if password_hash is None:
            self.state.passwords.pop(name, None)
        elif name in self.state.users:
            self.state.passwords[name] = password_hash

    def password_hash(self, name: str) -> str | None:
        """A user's password hash."""
        return self.state.passwords.get(name)
