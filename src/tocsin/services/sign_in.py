"""Sign-in for people: a user name and password (argon2id), an API token, or the identity
provider (OpenID Connect) opens a session; the session's secret is the browser's cookie.

A session carries the principal of what opened it (a token's limits stay with a session opened by
that token, and end with it). Its CSRF token is derived from its secret, so only a page that can
read the sign-in answer (same origin) can send it back with a write.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tocsin.core.access import Principal, Via
from tocsin.core.audit import AuditRecord
from tocsin.core.credentials import SIGN_IN_FOR, CredentialState, SignIn, SignInMethod
from tocsin.core.errors import InvalidInput, NotFound, Problem, Unauthenticated
from tocsin.ports import Clock, Store
from tocsin.services.access import AccessService, hash_token, new_secret

HASHER = PasswordHasher()  # argon2id with the library's current (RFC 9106 low-memory) defaults
MIN_PASSWORD = 12
# checked against when the user does not exist, so that both answers take as long
_ABSENT = HASHER.hash("no such user: a password nobody has")
REFUSED = "the user name or password is not right"


def csrf_of(session_secret: str) -> str:
    """The CSRF token of a session (sent by the page in `X-CSRF-Token` with every write)."""
    return hashlib.sha256(b"tocsin-csrf:" + session_secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    """An open session: its secret (the cookie), its CSRF token and whose it is."""

    secret: str
    csrf: str
    principal: Principal
    expires_at: datetime


@dataclass(frozen=True)
class SignInService:
    """Passwords, sessions and sign-outs."""

    store: Store
    clock: Clock
    access: AccessService
    session_for: timedelta = SIGN_IN_FOR

    def set_password(self, name: str, password: str, *, actor: str) -> None:
        """Store a user's password as an argon2id hash (at least 12 characters)."""
        if len(password) < MIN_PASSWORD:
            reason = f"at least {MIN_PASSWORD} characters"
            raise InvalidInput([Problem("password", "password", reason)])
        now = self.clock.now()
        with self.store.transaction() as tx:
            if tx.users.get(name) is None:
                raise NotFound(f"no user {name!r}")
            tx.users.set_password(name, HASHER.hash(password))
            tx.audit.append([AuditRecord(now, actor, "password.set", "user", name, "", {})])

    def with_password(self, name: str, password: str) -> Session:
        """A session for a user name and password (Unauthenticated, saying nothing about which
        was wrong)."""
        with self.store.transaction() as tx:
            user = tx.users.get(name)
            stored = tx.users.password_hash(name) if user is not None else None
        try:
            HASHER.verify(stored or _ABSENT, password)
        except (VerificationError, InvalidHashError):
            raise Unauthenticated(REFUSED) from None
        if user is None or stored is None:
            raise Unauthenticated(REFUSED)
        if HASHER.check_needs_rehash(stored):
            with self.store.transaction() as tx:
                tx.users.set_password(name, HASHER.hash(password))
        return self._open(user.name, SignInMethod.PASSWORD, token_id=None)

    def with_token(self, token: str) -> Session:
        """A session carrying an API token's principal (it ends with the token)."""
        principal = self.access.authenticate(token)
        if principal is None:
            raise Unauthenticated("the token is not valid")
        return self._open(principal.name, SignInMethod.TOKEN, token_id=principal.token_id)

    def with_identity(self, name: str) -> Session:
        """A session for a user the identity provider vouched for (it must be a Tocsin user)."""
        with self.store.transaction() as tx:
            if tx.users.get(name) is None:
                raise Unauthenticated(f"the identity provider's user {name!r} is no Tocsin user")
        return self._open(name, SignInMethod.OIDC, token_id=None)

    def _open(self, name: str, method: SignInMethod, *, token_id: str | None) -> Session:
        now = self.clock.now()
        secret = new_secret("tss_")
        record = SignIn(name, method, now, now + self.session_for, token_id)
        with self.store.transaction() as tx:
            tx.credentials.add_sign_in(record, secret_hash=hash_token(secret))
            why = f"signed in with {method.value}"
            tx.audit.append([AuditRecord(now, name, "session.opened", "user", name, why, {})])
        found = self.session(secret)
        if found is None:  # the user vanished meanwhile
            raise Unauthenticated("the sign-in could not be opened")
        return found

    def session(self, secret: str) -> Session | None:
        """The open session with this secret (None: none, expired, signed out, or its token
        revoked)."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            found = tx.credentials.sign_in(hash_token(secret))
            user = tx.users.get(found.user) if found is not None else None
            token = None
            if found is not None and found.token_id is not None:
                token = next(
                    (k for k in tx.credentials.tokens(user=found.user) if k.id == found.token_id),
                    None,
                )
        if found is None or user is None or found.state(now) != CredentialState.VALID:
            return None
        if found.token_id is not None:
            if token is None or token.state(now) != CredentialState.VALID:
                return None
            principal = self.access.token_principal(token, user, via=Via.SESSION)
        else:
            principal = self.access.principal(user, via=Via.SESSION)
        return Session(secret, csrf_of(secret), principal, found.expires_at)

    def sign_out(self, secret: str) -> None:
        """End a session."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            found = tx.credentials.sign_in(hash_token(secret))
            if found is None:
                return
            tx.credentials.end_sign_ins(now=now, secret_hash=hash_token(secret))
            record = AuditRecord(now, found.user, "session.ended", "user", found.user, "", {})
            tx.audit.append([record])
