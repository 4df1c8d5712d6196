"""Administration: load configuration into the store, manage users and API tokens."""

from __future__ import annotations

from tocsin.core.audit import AuditRecord
from tocsin.core.catalog import Catalog
from tocsin.core.credentials import CredentialState
from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.regions import RegionTree
from tocsin.core.units import UnitCode
from tocsin.core.users import Role, User, UserName
from tocsin.ports import Clock, Store
from tocsin.services.access import CredentialChanges, revoke_all


class AdminService:
    """Configuration and access management."""

    def __init__(
        self, store: Store, clock: Clock, *, changes: CredentialChanges | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.changes = changes or CredentialChanges()  # bumped when a user is saved again
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

    def add_user(
        self, name: str, role: Role, *, unit: str | None, actor: str, keep_tokens: bool = False
    ) -> User:
        """Create or update a user: every user but an administrator belongs to a unit of the
        catalogue (its scope). Saving a user that exists revokes its tokens and ends its
        sign-ins (a changed role or unit must not live on in old credentials) unless
        `keep_tokens`."""
        if role is not Role.ADMIN and unit is None:
            reason = f"a {role.value} must belong to a unit (its regions and domains are the scope)"
            raise InvalidInput([Problem("user", "unit", reason)])
        if unit is not None and UnitCode(unit) not in self.catalog.units:
            raise InvalidInput([Problem("user", "unit", f"unknown unit {unit!r}")])
        user = User(UserName(name), role, unit)
        now = self.clock.now()
        with self.store.transaction() as tx:
            existed = tx.users.get(name) is not None
            tx.users.save(user, now=now)
            details = {"unit": unit, "existed": existed}
            record = AuditRecord(
                now, actor, "user.saved", "user", name, f"role {role.value}", details
            )
            tx.audit.append([record])
            if existed and not keep_tokens:
                revoke_all(tx, name, actor=actor, now=now)
        self.changes.bump()  # its role or unit may have changed, or its tokens ended
        return user

    def users(self) -> list[tuple[User, int]]:
        """Every user by name, with the number of valid tokens each holds."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            users = tx.users.listing()
            tokens = tx.credentials.tokens()
        live = [k.user for k in tokens if k.state(now) == CredentialState.VALID]
        return [(u, live.count(u.name)) for u in users]
