"""Exposure: advisories and inventories in, cyber warnings out, patches to lift them.

Every change (advisories imported, an inventory imported, a patch recorded) runs `reconcile` in
the same transaction: each unpatched (asset, advisory) match is a warning (source "exposure",
subject "<asset>:<advisory>", the asset's region, the cyber domain) at the level the advisory
earns; a warning whose match is patched or gone is lifted. The warning names what losing the
asset would take with it over the dependency graph, and the unit responsible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from tocsin.core.access import (
    Placement,
    Principal,
    require,
    require_place,
    require_places,
    sees,
    visible,
)
from tocsin.core.audit import AuditRecord, from_warning_event
from tocsin.core.catalog import Catalog
from tocsin.core.domains import DomainCode
from tocsin.core.errors import InvalidInput, NotFound, Problem
from tocsin.core.exposure.advisories import Advisory, merged
from tocsin.core.exposure.exposures import (
    CascadeStep,
    Consequences,
    Exposure,
    Patch,
    cascade_from,
    consequences_of,
    consequences_seen,
    find_exposures,
    inventory_of,
)
from tocsin.core.exposure.inventory import InventoryRow, imported_inventory
from tocsin.core.exposure.matching import VersionOrder
from tocsin.core.exposure.regions import RegionExposure, region_exposure
from tocsin.core.units import responsible_chain
from tocsin.core.users import Permission
from tocsin.core.warnings.model import Command, CommandKind, Place, WarningEvent, fingerprint
from tocsin.ports import Bus, Clock, Store, StoreSession
from tocsin.services.publishing import warning_message
from tocsin.services.warning_changes import WarningChanges

SOURCE = "exposure"
EVERY_ASSET = Placement(None, None)  # a feed concerns every region's assets
ACTOR = "rule:exposure"
CYBER = DomainCode("cyber")


@dataclass(frozen=True, slots=True)
class AssetExposure:
    """One asset: what it runs, what applies to it, and what depends on it."""

    asset: str
    name: str
    region: str
    software: tuple[str, ...]
    exposures: tuple[Exposure, ...]
    consequences: Consequences


@dataclass(frozen=True, slots=True)
class Change:
    """What one import or patch did: records stored and the warning transitions it made."""

    stored: int
    transitions: tuple[WarningEvent, ...]


class ExposureService:
    """Imports advisories and inventories, records patches, keeps exposure warnings in step."""

    def __init__(
        self, store: Store, bus: Bus, *, clock: Clock, catalog: Catalog, order: VersionOrder
    ) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.catalog = catalog
        self.order = order
        self.domain = CYBER if CYBER in catalog.domains else None

    def place_of(self, asset: str) -> Placement:
        """Where an asset's exposure sits, for the access policy: the asset's region and the
        domain its exposure warnings are raised in (cyber, or the asset's own)."""
        found = self.catalog.assets[asset]  # type: ignore[index]
        return Placement(str(found.region), str(self.domain or found.domain))

    def require_asset(self, asset: str, *, principal: Principal, action: str) -> None:
        """NotFound for an unknown asset; Forbidden unless the principal's scope holds it."""
        if asset not in self.catalog.assets:
            raise NotFound(f"no asset {asset!r}")
        require_place(principal, self.place_of(asset), action=f"{action} {asset}")

    def import_advisories(
        self, advisories: Sequence[Advisory], *, principal: Principal, where: str
    ) -> Change:
        """Store a feed's advisories and bring the warnings in line (a feed changes every
        region's exposure warnings: a principal whose scope is everything)."""
        require(principal, Permission.INGEST)
        require_place(principal, EVERY_ASSET, action="importing a vulnerability feed")
        if not advisories:
            raise InvalidInput([Problem(where, "", "the feed holds no advisory")])
        return self._change(
            lambda tx: tx.exposure.put_advisories(advisories, imported_at=self.clock.now()),
            actor=principal.name,
            kind="exposure.advisories_imported",
            subject=where,
        )

    def import_inventory(
        self, rows: Sequence[InventoryRow], *, principal: Principal, where: str
    ) -> Change:
        """Replace the imported software of the assets the rows name (all rows valid and in
        the principal's scope, or none)."""
        require(principal, Permission.CONFIGURE)
        software = imported_inventory(rows, assets=[str(a) for a in self.catalog.assets])
        placed = [(f"{where}: asset {code}", self.place_of(code)) for code in software]
        require_places(principal, placed, action="importing an inventory")

        def write(tx: StoreSession) -> int:
            tx.exposure.set_software(software, imported_at=self.clock.now())
            return sum(len(v) for v in software.values())

        return self._change(
            write, actor=principal.name, kind="exposure.inventory_imported", subject=where
        )

    def record_patch(
        self, asset: str, advisory: str, *, principal: Principal, note: str = ""
    ) -> Change:
        """Record that the asset is patched against the advisory; its warning is lifted."""
        require(principal, Permission.CONFIGURE)
        self.require_asset(asset, principal=principal, action="recording a patch on")
        patch = Patch(asset, advisory, self.clock.now(), principal.name, note)

        def write(tx: StoreSession) -> int:
            if not any(a.id == advisory for a in tx.exposure.advisories()):
                raise NotFound(f"no advisory {advisory!r} has been imported")
            tx.exposure.record_patch(patch)
            return 1

        return self._change(
            write, actor=principal.name, kind="exposure.patched", subject=f"{asset}:{advisory}"
        )

    def reconcile(self, *, actor: str = ACTOR) -> Change:
        """Bring the exposure warnings in line with what is stored (nothing else changes)."""
        return self._change(lambda tx: 0, actor=actor, kind="", subject="")

    def assets(self, *, principal: Principal) -> list[AssetExposure]:
        """Every asset with software in the principal's scope, its exposures and consequences,
        by asset code."""
        require(principal, Permission.READ)
        with self.store.transaction() as tx:
            exposures, inventory = self._exposures(tx)
        by_asset: dict[str, list[Exposure]] = {}
        for e in exposures:
            by_asset.setdefault(e.asset, []).append(e)
        out = []
        for code, software in sorted(inventory.items()):
            if not software:
                continue
            asset = self.catalog.assets[code]  # type: ignore[index]
            out.append(
                AssetExposure(
                    code,
                    asset.name,
                    str(asset.region),
                    tuple(str(s) for s in software),
                    tuple(by_asset.get(code, ())),
                    self._seen_consequences(principal, consequences_of(self.catalog.assets, code)),
                )
            )
        return visible(principal, out, lambda a: self.place_of(a.asset))

    def _sees_asset(self, principal: Principal, asset: str) -> bool:
        return asset in self.catalog.assets and sees(principal.scope, self.place_of(asset))

    def _seen_consequences(self, principal: Principal, harm: Consequences) -> Consequences:
        """The consequences within the principal's scope: assets of other regions it reaches
        are not named to a unit that does not see them."""
        if principal.scope.national:
            return harm
        return consequences_seen(
            harm, self.catalog.assets, seen=lambda a: self._sees_asset(principal, a.code)
        )

    def cascade(
        self, asset: str, *, principal: Principal
    ) -> tuple[list[CascadeStep], list[tuple[str, str]]]:
        """What losing an asset in the principal's scope takes with it, step by step, within
        that scope (the assets of other regions or domains it reaches are left out, and the
        edges to them)."""
        require(principal, Permission.READ)
        self.require_asset(asset, principal=principal, action="reading the cascade from")
        steps, edges = cascade_from(self.catalog.assets, asset)
        kept = {s.asset for s in steps if self._sees_asset(principal, s.asset)}
        return [s for s in steps if s.asset in kept], [e for e in edges if kept.issuperset(e)]

    def regions(self, *, principal: Principal) -> list[RegionExposure]:
        """The cyber exposure inputs of each region in the principal's scope (see
        core/exposure/regions.py)."""
        require(principal, Permission.READ)
        with self.store.transaction() as tx:
            exposures, inventory = self._exposures(tx)
        rows = region_exposure(
            self.catalog.assets,
            exposures,
            inventoried=[code for code, software in inventory.items() if software],
            today=self.clock.now().date(),
        )
        domain = str(self.domain) if self.domain else None
        return visible(principal, rows, lambda r: Placement(r.region, domain))

    def _exposures(self, tx: StoreSession) -> tuple[list[Exposure], dict[str, Any]]:
        inventory = inventory_of(self.catalog.assets, tx.exposure.imported_software())
        advisories = merged(tx.exposure.advisories())
        found = find_exposures(
            inventory, advisories, patches=tx.exposure.patches(), order=self.order
        )
        return found, inventory

    def _change(self, write: Any, *, actor: str, kind: str, subject: str) -> Change:
        now = self.clock.now()
        with self.store.transaction() as tx:
            stored = write(tx)
            exposures, _ = self._exposures(tx)
            events = self._reconcile(tx, exposures)
            records = [from_warning_event(e) for e in events]
            if kind:
                reason = f"{stored} record(s) by {actor}"
                records.insert(0, AuditRecord(now, actor, kind, "exposure", subject[:256], reason))
            tx.audit.append(records)
        for event in events:
            self.bus.publish("warnings", warning_message(event))
        return Change(stored, tuple(events))

    def _reconcile(self, tx: StoreSession, exposures: Sequence[Exposure]) -> list[WarningEvent]:
        now = self.clock.now()
        wanted = {self._fingerprint(e): e for e in exposures}
        open_fps = tx.warning_search.open_fingerprints(SOURCE, domain_prefix=self.domain)
        changes = WarningChanges.load(tx, [*wanted, *open_fps])
        for fp, exposure in wanted.items():
            current = changes.current(fp)
            if exposure.patched is not None:
                command = _lift(f"patched by {exposure.patched.actor}: {exposure.patched.note}")
            elif current is None or current.level is not exposure.level:
                command = self._raise(exposure)
            else:
                continue
            changes.apply(fp, command, at=now, place=partial(self._place, exposure))
        for fp in set(open_fps) - set(wanted):
            changes.apply(fp, _lift("no installed software matches any more"), at=now, place=_none)
        return changes.save(tx)

    def _domain(self, exposure: Exposure) -> DomainCode:
        return self.domain or self.catalog.assets[exposure.asset].domain  # type: ignore[index]

    def _fingerprint(self, e: Exposure) -> str:
        asset = self.catalog.assets[e.asset]  # type: ignore[index]
        return fingerprint(SOURCE, f"{e.asset}:{e.advisory.id}", asset.region, self._domain(e))

    def _place(self, e: Exposure) -> Place:
        asset = self.catalog.assets[e.asset]  # type: ignore[index]
        domain = self._domain(e)
        labels = {"asset": e.asset, "advisory": e.advisory.id, "source": SOURCE}
        return Place(SOURCE, f"{e.asset}:{e.advisory.id}", asset.region, domain, labels)

    def _raise(self, e: Exposure) -> Command:
        asset = self.catalog.assets[e.asset]  # type: ignore[index]
        harm = consequences_of(self.catalog.assets, e.asset)
        chain = responsible_chain(
            self.catalog.units, self.catalog.regions, region=asset.region, domain=self._domain(e)
        )
        a = e.advisory
        exploited = " known exploited," if a.known_exploited else ""
        due = f" due {a.due_on.isoformat()}" if a.due_on else ""
        reason = f"{a.id} ({a.severity.value},{exploited} CVSS {a.cvss_score}) on {asset.name}{due}"
        return Command(
            CommandKind.RAISE, ACTOR, reason, e.level, _cause(e), _explain(e, harm, chain=chain)
        )


def _lift(reason: str) -> Command:
    return Command(CommandKind.LIFT, ACTOR, reason)


def _none() -> Place:
    raise AssertionError("a lift never raises a warning")  # WarningChanges lifts open ones only


def _cause(e: Exposure) -> dict[str, Any]:
    return {"asset": e.asset, "advisory": e.advisory.id, "software": list(e.software)}


def _explain(e: Exposure, harm: Consequences, *, chain: Sequence[Any]) -> Mapping[str, Any]:
    a = e.advisory
    due: date | None = a.due_on
    return {
        "rule": SOURCE,
        "name": f"{a.id} on {e.asset}",
        "advisory": a.id,
        "title": a.title,
        "cvss": a.cvss_score,
        "severity": a.severity.value,
        "known_exploited": a.known_exploited,
        "due_on": due.isoformat() if due else None,
        "required_action": a.required_action,
        "software": list(e.software),
        "fails_with_it": list(harm.failed),
        "degraded": list(harm.degraded),
        "regions_at_risk": list(harm.regions),
        "responsible_unit": chain[0].name if chain else None,
        "level": e.level.value,
    }
