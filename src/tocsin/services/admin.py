"""Administration: load configuration into the store, manage users and API tokens."""

from __future__ import annotations

import secrets

from tocsin.core.audit import AuditRecord
from tocsin.core.catalog import Catalog
from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.regions import RegionTree
from tocsin.core.units import UnitCode
from tocsin.core.users import Role, User, UserName
from tocsin.ports import Clock, Store
from tocsin.services.access import hash_token


class AdminService:
    """Configuration and access management."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.catalog = Catalog(RegionTree((), {}), {})  # the applied or stored one, once known

    def use_catalog(self, catalog: Catalog) -> None:
        """The catalogue whose units users belong to."""
        self.catalog = catalog

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
        """Create or update a user: every user but an administrator belongs to a unit of the
        catalogue (its scope)."""
        if role is not Role.ADMIN and unit is None:
            reason = f"a {role.value} must belong to a unit (its regions and domains are the scope)"
            raise InvalidInput([Problem("user", "unit", reason)])
        if unit is not None and UnitCode(unit) not in self.catalog.units:
            raise InvalidInput([Problem("user", "unit", f"unknown unit {unit!r}")])
        user = User(UserName(name), role, unit)
        now = self.clock.now()
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
        with self.store.transaction() as tx:
            tx.users.add_token(hash_token(token), user=name, label=label, now=now)
            tx.audit.append([AuditRecord(now, actor, "token.issued", "user", name, label, {})])
        return token

    def users(self) -> list[tuple[User, int]]:
        """Every user by name, with the number of valid tokens each holds."""
        with self.store.transaction() as tx:
            return tx.users.listing()
