"""Warning use cases for people: list, count, look at one, acknowledge, read its history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tocsin.core.access import Placement, Principal, require, require_found, sees
from tocsin.core.assets import Asset, AssetCode
from tocsin.core.audit import AuditRecord, from_warning_event
from tocsin.core.errors import NotFound
from tocsin.core.exposure.exposures import Consequences, consequences_seen
from tocsin.core.levels import Level
from tocsin.core.regions import RegionCode, RegionTree
from tocsin.core.users import Permission
from tocsin.core.warnings import lifecycle
from tocsin.core.warnings.model import Command, CommandKind, Warning
from tocsin.ports import Bus, Clock, Store, WarningFilter
from tocsin.services.publishing import warning_message


def warning_place(warning: Warning) -> Placement:
    """Where a warning sits, for the access policy."""
    return Placement(warning.region, warning.domain)


@dataclass(frozen=True)
class WarningService:
    """Reads and acts on stored warnings."""

    store: Store
    bus: Bus
    clock: Clock
    regions: RegionTree
    # the inventory, to tell a scoped reader only the consequences of an exposure it may see
    assets: Mapping[AssetCode, Asset] = field(default_factory=dict)

    def find(
        self,
        *,
        open_only: bool = True,
        levels: tuple[str, ...] = (),
        domain: str | None = None,
        region: str | None = None,
        limit: int = 1000,
        offset: int = 0,
        principal: Principal,
    ) -> list[Warning]:
        """Warnings the principal may see, most severe and oldest first; `region` selects its
        whole subtree; a page of `limit` after skipping `offset`."""
        require(principal, Permission.READ)
        regions = None
        if region is not None:
            if region not in self.regions:
                raise NotFound(f"unknown region {region!r}")
            regions = tuple(self.regions.subtree(RegionCode(region)))
        query = WarningFilter(
            open_only=open_only,
            levels=levels,
            domain_prefix=domain,
            regions=regions,
            limit=limit,
            offset=offset,
            scope=principal.scope,
        )
        with self.store.transaction() as tx:
            found = tx.warning_search.find(query)
        return [self.shown(w, principal=principal) for w in found]

    def get(self, warning_id: str, *, principal: Principal) -> Warning:
        """One warning (Forbidden outside the principal's scope)."""
        require(principal, Permission.READ)
        with self.store.transaction() as tx:
            found = tx.warnings.get(warning_id)
        warning = require_found(
            principal, found, kind="warning", ident=warning_id, place=warning_place
        )
        return self.shown(warning, principal=principal)

    def resolve(self, prefix: str, *, principal: Principal, open_only: bool = False) -> Warning:
        """The one warning the principal sees whose id starts with `prefix` (NotFound when none
        or several do)."""
        require(principal, Permission.READ)
        with self.store.transaction() as tx:
            found = tx.warning_search.with_prefix(prefix, open_only=open_only, limit=2)
        found = [w for w in found if sees(principal.scope, warning_place(w))]
        if len(found) == 1:
            return self.shown(found[0], principal=principal)
        what = "open warnings" if open_only else "warnings"
        how_many = "0" if not found else "several"
        raise NotFound(f"{how_many} {what} match {prefix!r}")

    def shown(self, warning: Warning, *, principal: Principal) -> Warning:
        """The warning as the principal is shown it: the consequences an exposure warning names
        (assets that fail or degrade with it, regions at risk) only where the principal's scope
        reaches — a unit is not told of assets of regions it does not see."""
        told = warning.explanation
        if principal.scope.national or "fails_with_it" not in told:
            return warning
        harm = Consequences(
            tuple(told.get("fails_with_it", ())),
            tuple(told.get("degraded", ())),
            tuple(told.get("regions_at_risk", ())),
        )
        domain = warning.domain

        def seen(asset: Asset) -> bool:
            return sees(principal.scope, Placement(asset.region, domain))

        kept = consequences_seen(harm, self.assets, seen=seen)
        explanation = {
            **told,
            "fails_with_it": list(kept.failed),
            "degraded": list(kept.degraded),
            "regions_at_risk": list(kept.regions),
        }
        return replace(warning, explanation=explanation)

    def counts(self, *, open_only: bool = True, principal: Principal) -> dict[tuple[str, str], int]:
        """(level, state) -> number of warnings the principal may see."""
        require(principal, Permission.READ)
        with self.store.transaction() as tx:
            return tx.warning_search.counts(open_only=open_only, scope=principal.scope)

    def worst_levels(self, *, principal: Principal) -> dict[str, dict[str, Any]]:
        """For each region with open warnings (that the principal may see) in its subtree: the
        highest level, its rank and the number of open warnings (`level`, `rank`, `count`)."""
        require(principal, Permission.READ)
        with self.store.transaction() as tx:
            counts = tx.warning_search.open_counts_by_region(scope=principal.scope)
        out: dict[str, dict[str, Any]] = {}
        for (region, name), n in sorted(counts.items()):
            if region not in self.regions:
                continue
            level = Level(name)
            for code in (region, *self.regions.ancestors(RegionCode(region))):
                entry = out.setdefault(code, {"level": level.value, "rank": 0, "count": 0})
                entry["count"] += n
                if level.rank > entry["rank"]:
                    entry["rank"], entry["level"] = level.rank, level.value
        return out

    def transitions(self, indicator: str, *, principal: Principal) -> list[AuditRecord]:
        """Every transition of the warnings about one indicator, oldest first (the caller has
        checked that the principal sees the indicator)."""
        require(principal, Permission.READ)
        with self.store.transaction() as tx:
            return tx.warning_search.transitions_of(indicator)

    def history(self, warning_id: str, *, principal: Principal) -> list[AuditRecord]:
        """Every transition of one warning, oldest first."""
        self.get(warning_id, principal=principal)
        with self.store.transaction() as tx:
            return tx.audit.trail("warning", warning_id)

    def acknowledge(self, warning_id: str, *, principal: Principal, reason: str) -> Warning:
        """Acknowledge an active warning within the principal's scope."""
        require(principal, Permission.ACKNOWLEDGE)
        now = self.clock.now()
        with self.store.transaction() as tx:
            stored = tx.warnings.get(warning_id)
            current = require_found(
                principal,
                stored,
                kind="warning",
                ident=warning_id,
                place=warning_place,
                doing="acknowledging",
            )
            command = Command(CommandKind.ACKNOWLEDGE, principal.name, reason or "acknowledged")
            warning, event = lifecycle.apply(current, command, now)
            tx.warnings.save([warning], new=False)
            tx.audit.append([from_warning_event(event)])
        self.bus.publish("warnings", warning_message(event))
        return self.shown(warning, principal=principal)
