"""Administration: load configuration into the store, manage users and API tokens.

Every request that writes is authenticated, so in a storm of posts the token's user would be
read thousands of times a second. `authenticate` keeps a token's user for `TOKEN_CACHE_FOR`
(2 s): a change made through this service (a user saved, a token issued) clears it at once, a
change made by another process (`tocsin users …` beside a running server) is seen within 2 s.
Only tokens that authenticated are kept, at most `TOKEN_CACHE_SIZE` of them.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from datetime import datetime, timedelta

from tocsin.core.audit import AuditRecord
from tocsin.core.catalog import Catalog
from tocsin.core.errors import Forbidden
from tocsin.core.users import Permission, Role, User, UserName
from tocsin.ports import Clock, Store

TOKEN_CACHE_FOR = timedelta(seconds=2)
TOKEN_CACHE_SIZE = 1024


def hash_token(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


class AdminService:
    """Configuration and access management."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._known: dict[str, tuple[User, datetime]] = {}  # token hash -> user, read at
        self._lock = threading.Lock()

    def apply_catalog(self, catalog: Catalog, *, actor: str) -> dict[str, int]:
        """Store a validated catalogue; returns indicator code -> id."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            ids = tx.catalog.sync(catalog)
            tx.audit.append(
                [
                    AuditRecord(
                        now,
                        actor,
                        "config.applied",
                        "config",
                        "catalog",
                        "configuration loaded",
                        {
                            "regions": len(catalog.regions.regions),
                            "indicators": len(catalog.indicators),
                            "assets": len(catalog.assets),
                            "units": len(catalog.units),
                        },
                    )
                ]
            )
        return ids

    def add_user(self, name: str, role: Role, *, unit: str | None, actor: str) -> User:
        """Create or update a user."""
        user = User(UserName(name), role, unit)
        now = self.clock.now()
        self._forget()
        with self.store.transaction() as tx:
            tx.users.save(user, now=now)
            tx.audit.append(
                [
                    AuditRecord(
                        now, actor, "user.saved", "user", name, f"role {role.value}", {"unit": unit}
                    )
                ]
            )
        return user

    def issue_token(self, name: str, *, label: str, actor: str) -> str:
        """A new API token for a user; only its hash is stored, the token is shown once."""
        token = "tcs_" + secrets.token_urlsafe(32)
        now = self.clock.now()
        self._forget()
        with self.store.transaction() as tx:
            tx.users.add_token(hash_token(token), user=name, label=label, now=now)
            tx.audit.append([AuditRecord(now, actor, "token.issued", "user", name, label, {})])
        return token

    def users(self) -> list[tuple[User, int]]:
        """Every user by name, with the number of valid tokens each holds."""
        with self.store.transaction() as tx:
            return tx.users.listing()

    def known_user(self, token: str) -> User | None:
        """The user of a token if it was read less than TOKEN_CACHE_FOR ago (no I/O), else
        None (then `authenticate` reads it)."""
        now = self.clock.now()
        with self._lock:
            known = self._known.get(hash_token(token))
        if known is not None and timedelta(0) <= now - known[1] < TOKEN_CACHE_FOR:
            return known[0]
        return None

    def authenticate(self, token: str) -> User | None:
        """The user of a token, or None (read at most every TOKEN_CACHE_FOR per token)."""
        found = self.known_user(token)
        if found is not None:
            return found
        key, now = hash_token(token), self.clock.now()
        with self.store.transaction() as tx:
            user = tx.users.by_token(key)
        with self._lock:
            if user is None:
                self._known.pop(key, None)
            else:
                if len(self._known) >= TOKEN_CACHE_SIZE:
                    self._known.clear()
                self._known[key] = (user, now)
        return user

    def _forget(self) -> None:
        """Drop every kept token (users or tokens are about to change)."""
        with self._lock:
            self._known.clear()

    @staticmethod
    def require(user: User, permission: Permission) -> None:
        """Raise Forbidden unless the user may do this."""
        if not user.may(permission):
            raise Forbidden(f"role {user.role.value} may not {permission.value}")
