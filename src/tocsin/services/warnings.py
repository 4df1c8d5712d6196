"""Warning use cases for people: list, count, look at one, acknowledge, read its history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tocsin.core.audit import AuditRecord, from_warning_event
from tocsin.core.errors import NotFound
from tocsin.core.levels import Level
from tocsin.core.regions import RegionCode, RegionTree
from tocsin.core.warnings import lifecycle
from tocsin.core.warnings.model import Command, CommandKind, Warning
from tocsin.ports import Bus, Clock, Store, WarningFilter
from tocsin.services.publishing import warning_message


@dataclass(frozen=True)
class WarningService:
    """Reads and acts on stored warnings."""

    store: Store
    bus: Bus
    clock: Clock
    regions: RegionTree

    def find(
        self,
        *,
        open_only: bool = True,
        levels: tuple[str, ...] = (),
        domain: str | None = None,
        region: str | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> list[Warning]:
        """Warnings, most severe and oldest first; `region` selects its whole subtree; a page of
        `limit` after skipping `offset`."""
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
        )
        with self.store.transaction() as tx:
            return tx.warning_search.find(query)

    def get(self, warning_id: str) -> Warning:
        """One warning."""
        with self.store.transaction() as tx:
            warning = tx.warnings.get(warning_id)
        if warning is None:
            raise NotFound(f"no warning {warning_id!r}")
        return warning

    def resolve(self, prefix: str, *, open_only: bool = False) -> Warning:
        """The one warning whose id starts with `prefix` (NotFound when none or several do)."""
        with self.store.transaction() as tx:
            found = tx.warning_search.with_prefix(prefix, open_only=open_only, limit=2)
        if len(found) == 1:
            return found[0]
        what = "open warnings" if open_only else "warnings"
        how_many = "0" if not found else "several"
        raise NotFound(f"{how_many} {what} match {prefix!r}")

    def counts(self, *, open_only: bool = True) -> dict[tuple[str, str], int]:
        """(level, state) -> number of warnings."""
        with self.store.transaction() as tx:
            return tx.warning_search.counts(open_only=open_only)

    def worst_levels(self) -> dict[str, dict[str, Any]]:
        """For each region with open warnings in its subtree: the highest level, its rank and
        the number of open warnings (`level`, `rank`, `count`)."""
        with self.store.transaction() as tx:
            counts = tx.warning_search.open_counts_by_region()
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

    def transitions(self, indicator: str) -> list[AuditRecord]:
        """Every transition of the warnings about one indicator, oldest first."""
        with self.store.transaction() as tx:
            return tx.warning_search.transitions_of(indicator)

    def history(self, warning_id: str) -> list[AuditRecord]:
        """Every transition of one warning, oldest first."""
        self.get(warning_id)
        with self.store.transaction() as tx:
            return tx.audit.trail("warning", warning_id)

    def acknowledge(self, warning_id: str, *, actor: str, reason: str) -> Warning:
        """Acknowledge an active warning."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            current = tx.warnings.get(warning_id)
            if current is None:
                raise NotFound(f"no warning {warning_id!r}")
            warning, event = lifecycle.apply(
                current, Command(CommandKind.ACKNOWLEDGE, actor, reason or "acknowledged"), now
            )
            tx.warnings.save([warning], new=False)
            tx.audit.append([from_warning_event(event)])
        self.bus.publish("warnings", warning_message(event))
        return warning
