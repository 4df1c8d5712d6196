"""API tokens and sign-ins in memory (by secret hash)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.credentials import ApiToken, SignIn


class MemoryCredentials:
    """The CredentialStore port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def add_token(self, token: ApiToken, *, secret_hash: str) -> None:
        """Store a new token."""
        self.state.tokens[secret_hash] = token

    def token(self, secret_hash: str) -> ApiToken | None:
        """The token with this secret hash."""
        return self.state.tokens.get(secret_hash)

    def tokens(self, *, user: str | None = None) -> list[ApiToken]:
        """Every token (of `user`), oldest first."""
        found = [k for k in self.state.tokens.values() if user is None or k.user == user]
        return sorted(found, key=lambda k: (k.created_at, k.id))

    def revoke_tokens(self, ids: Sequence[str], *, now: datetime) -> None:
        """Revoke tokens (and end the sign-ins opened with them)."""
        chosen = set(ids)
        for key, token in list(self.state.tokens.items()):
            if token.id in chosen and token.revoked_at is None:
                self.state.tokens[key] = replace(token, revoked_at=now)
        for key, sign_in in list(self.state.sign_ins.items()):
            if sign_in.token_id in chosen and sign_in.ended_at is None:
                self.state.sign_ins[key] = replace(sign_in, ended_at=now)

    def add_sign_in(self, sign_in: SignIn, *, secret_hash: str) -> None:
        """Store a new sign-in."""
        self.state.sign_ins[secret_hash] = sign_in

    def sign_in(self, secret_hash: str) -> SignIn | None:
        """The sign-in with this secret hash."""
        return self.state.sign_ins.get(secret_hash)

    def end_sign_ins(
        self, *, now: datetime, secret_hash: str | None = None, user: str | None = None
    ) -> int:
        """End one sign-in or every open one of a user."""
        ended = 0
        for key, s in list(self.state.sign_ins.items()):
            chosen = key == secret_hash if secret_hash is not None else s.user == user
            if chosen and s.ended_at is None:
                self.state.sign_ins[key] = replace(s, ended_at=now)
                ended += 1
        return ended

    def forget(self, *, before: datetime) -> int:
        """Delete what ended or expired before `before`."""
        gone = [
            k
            for k, s in self.state.sign_ins.items()
            if (s.ended_at is not None and s.ended_at < before) or s.expires_at < before
        ]
        for k in gone:
            del self.state.sign_ins[k]
        old = [
            k
            for k, tok in self.state.tokens.items()
            if (tok.revoked_at is not None and tok.revoked_at < before)
            or (tok.expires_at is not None and tok.expires_at < before)
        ]
        for k in old:
            del self.state.tokens[k]
        return len(gone) + len(old)
