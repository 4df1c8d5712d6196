"""Port: API tokens and sign-ins (only hashes of their secrets are stored)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from tocsin.core.credentials import ApiToken, SignIn


class CredentialStore(Protocol):
    """Tokens for machines, sign-ins for people."""

    def add_token(self, token: ApiToken, *, secret_hash: str) -> None:
        """Store a new token."""

    def token(self, secret_hash: str) -> ApiToken | None:
        """The token whose secret has this hash (whatever its state)."""

    def tokens(self, *, user: str | None = None) -> list[ApiToken]:
        """Every token (of `user`), oldest first."""

    def revoke_tokens(self, ids: Sequence[str], *, now: datetime) -> None:
        """Revoke tokens (already revoked ones keep their moment)."""

    def add_sign_in(self, sign_in: SignIn, *, secret_hash: str) -> None:
        """Store a new sign-in."""

    def sign_in(self, secret_hash: str) -> SignIn | None:
        """The sign-in whose secret has this hash (whatever its state)."""

    def end_sign_ins(
        self, *, now: datetime, secret_hash: str | None = None, user: str | None = None
    ) -> int:
        """End one sign-in (by secret) or every open one of a user; how many ended."""

    def forget(self, *, before: datetime) -> int:
        """Delete sign-ins and tokens that ended or expired before `before` (retention)."""
