"""Users and token hashes in memory."""

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

    def add_token(self, token_hash: str, *, user: str, label: str, now: datetime) -> None:
        """Store a token hash."""
        self.state.tokens[token_hash] = (user, label, None)

    def by_token(self, token_hash: str) -> User | None:
        """The user of a valid (not revoked) token."""
        token = self.state.tokens.get(token_hash)
        if token is None or token[2] is not None:
            return None
        return self.state.users.get(token[0])

    def listing(self) -> list[tuple[User, int]]:
        """Every user by name, with the number of tokens not revoked."""
        live = [name for name, _, revoked in self.state.tokens.values() if revoked is None]
        return [(u, live.count(u.name)) for _, u in sorted(self.state.users.items())]
