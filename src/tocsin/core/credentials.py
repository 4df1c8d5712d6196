"""Credentials: API tokens for machines and sign-ins (sessions) for people.

A token is named, belongs to a user, may expire, may carry fewer permissions and a narrower scope
than its user (never more), and is revoked or rotated by id; only a hash of its secret is stored.
A sign-in is a person's session (by password, token or the identity provider): it expires, ends
on sign-out, and ends with the token it was opened with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from tocsin.core.users import Permission

SIGN_IN_FOR: Final = timedelta(hours=12)


class CredentialState(StrEnum):
    """Whether a token or sign-in can be used now (derived, never stored)."""

    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"


def state_at(now: datetime, *, expires_at: datetime | None, ended_at: datetime | None) -> str:
    """Revoked (ended) before expired before valid."""
    if ended_at is not None and ended_at <= now:
        return CredentialState.REVOKED
    if expires_at is not None and expires_at <= now:
        return CredentialState.EXPIRED
    return CredentialState.VALID


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A named API token of a user (its secret is shown once and stored as a hash)."""

    id: str
    user: str
    name: str
    created_at: datetime
    expires_at: datetime | None = None
    permissions: frozenset[Permission] | None = None  # None: its user's role's
    regions: tuple[str, ...] | None = None  # scope roots; None: its user's unit's
    domains: tuple[str, ...] | None = None
    revoked_at: datetime | None = None

    def state(self, now: datetime) -> str:
        """Valid, expired or revoked at `now`."""
        return state_at(now, expires_at=self.expires_at, ended_at=self.revoked_at)


class SignInMethod(StrEnum):
    """How a person signed in."""

    PASSWORD = "password"
    TOKEN = "token"
    OIDC = "oidc"


@dataclass(frozen=True, slots=True)
class SignIn:
    """A person's session: who, how, until when (its secret is the cookie, stored hashed)."""

    user: str
    method: SignInMethod
    created_at: datetime
    expires_at: datetime
    token_id: str | None = None  # signed in with this token: ends with it
    ended_at: datetime | None = None

    def state(self, now: datetime) -> str:
        """Valid, expired or revoked (signed out) at `now`."""
        return state_at(now, expires_at=self.expires_at, ended_at=self.ended_at)
