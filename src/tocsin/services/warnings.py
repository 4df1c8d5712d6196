"""Warning use cases for people: list, look at one, acknowledge, read its history."""

from __future__ import annotations

from tocsin.core.audit import AuditRecord, from_warning_event
from tocsin.core.errors import NotFound
from tocsin.core.regions import RegionCode, RegionTree
from tocsin.core.warnings import lifecycle
from tocsin.core.warnings.model import Command, CommandKind, Warning
from tocsin.ports import Bus, Clock, Store, WarningFilter
from tocsin.services.publishing import warning_message


class WarningService:
    """Reads and acts on stored warnings."""

    def __init__(self, store: Store, bus: Bus, clock: Clock, regions: RegionTree) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.regions = regions

    def find(
        self,
        *,
        open_only: bool = True,
        levels: tuple[str, ...] = (),
        domain: str | None = None,
        region: str | None = None,
        limit: int = 1000,
    ) -> list[Warning]:
        """Warnings, most severe and oldest first; `region` selects its whole subtree."""
        regions = None
        if region is not None:
            if region not in self.regions:
                raise NotFound(f"unknown region {region!r}")
            regions = tuple(self.regions.subtree(RegionCode(region)))
        query = WarningFilter(
            open_only=open_only, levels=levels, domain_prefix=domain, regions=regions, limit=limit
        )
        with self.store.transaction() as tx:
            return tx.list_warnings(query)

    def get(self, warning_id: str) -> Warning:
        """One warning."""
        with self.store.transaction() as tx:
            warning = tx.get_warning(warning_id)
        if warning is None:
            raise NotFound(f"no warning {warning_id!r}")
        return warning

    def history(self, warning_id: str) -> list[AuditRecord]:
        """Every transition of one warning, oldest first."""
        self.get(warning_id)
        with self.store.transaction() as tx:
            return tx.audit_for("warning", warning_id)

    def acknowledge(self, warning_id: str, *, actor: str, reason: str) -> Warning:
        """Acknowledge an active warning."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            current = tx.get_warning(warning_id)
            if current is None:
                raise NotFound(f"no warning {warning_id!r}")
            warning, event = lifecycle.apply(
                current, Command(CommandKind.ACKNOWLEDGE, actor, reason or "acknowledged"), now
            )
            tx.save_warning(warning, new=False)
            tx.append_audit([from_warning_event(event)])
        self.bus.publish("warnings", warning_message(event))
        return warning
