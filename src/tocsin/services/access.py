"""Access use cases: who a credential belongs to, as a principal with its permissions and scope.

Every service takes the acting `Principal` and asks `tocsin.core.access` whether it may see or do
what it asks; this service makes principals from credentials (API tokens now; sessions and
sign-in in `tocsin.services.sign_in`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from tocsin.core.access import Principal, Via, user_principal
from tocsin.core.catalog import Catalog
from tocsin.core.users import User
from tocsin.ports import Clock, Store


def hash_token(token: str) -> str:
    """The stored form of an API token (tokens are long random strings: a plain digest
    suffices; passwords get argon2)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class AccessService:
    """Principals from credentials, over the catalogue that gives units their scope."""

    store: Store
    clock: Clock
    catalog: Catalog

    def principal(self, user: User, *, via: Via = Via.TOKEN) -> Principal:
        """The user's principal: the role's permissions, the unit's scope."""
        return user_principal(
            user,
            units=self.catalog.units,
            tree=self.catalog.regions,
            domains=self.catalog.domains,
            via=via,
        )

    def authenticate(self, token: str) -> Principal | None:
        """The principal of an API token, or None when nobody holds it."""
        with self.store.transaction() as tx:
            user = tx.users.by_token(hash_token(token))
        return None if user is None else self.principal(user)
