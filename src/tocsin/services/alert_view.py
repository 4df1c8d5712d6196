"""The open warnings a reader sees, as Alertmanager's API v2 lists alerts (`GET /api/v2/alerts`;
the mapping and the filters are in `tocsin.core.warnings.alert_view`).

Receivers, silences and inhibition are computed as the dispatcher computes them when it notifies
(`dispatcher.py`): the receivers of the routes a warning ends up on (`responsible` resolved to
the responsible unit's code), the active silences that match it, and the open warnings that
inhibit it — every one of them, whatever the reader's scope, so the state and the `silenced` and
`inhibited` filters tell the truth. The ids in `silencedBy` and `inhibitedBy` are only those of
silences and warnings the reader may see: a silence or warning outside its scope is not named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tocsin.core.access import Principal, require, sees
from tocsin.core.catalog import Catalog
from tocsin.core.regions import RegionCode
from tocsin.core.users import Permission
from tocsin.core.warnings.alert_view import AlertQuery, AlertView, alertmanager_order, view_of
from tocsin.core.warnings.config import AlertingConfig
from tocsin.core.warnings.inhibition import inhibited_by
from tocsin.core.warnings.routing import match_routes, receiver_for
from tocsin.core.warnings.selectors import Target
from tocsin.core.warnings.silences import Silence, silenced_by
from tocsin.core.warnings.suppression import source_regions
from tocsin.ports import AlertingStore, Clock
from tocsin.services.silences import SilenceService, silence_place
from tocsin.services.targets import TargetBuilder, level_label
from tocsin.services.warnings import WarningService, warning_place

MAX_ALERTS = 100_000  # open warnings listed at most (a storm's board is about 10,000)


@dataclass(frozen=True)
class AlertViewService:
    """Lists open warnings as Alertmanager alerts."""

    warnings: WarningService
    alerting: AlertingStore
    clock: Clock
    catalog: Catalog
    config: AlertingConfig
    silence_reads: SilenceService
    targets: TargetBuilder = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", TargetBuilder(self.catalog))

    def alerts(self, query: AlertQuery, *, principal: Principal, url: str) -> list[AlertView]:
        """The open warnings the principal sees that pass the query, by fingerprint (as
        Alertmanager sorts them). `url` is the base of a warning's address in the API."""
        require(principal, Permission.READ)
        now = self.clock.now()
        shown = self.warnings.find(open_only=True, limit=MAX_ALERTS, principal=principal)
        targets = [self.targets.target(w) for w in shown]
        regions = source_regions(targets, self.targets.asset_regions)
        with self.alerting.transaction() as tx:
            silences = tx.silences.find(now=now, include_expired=False)
            sources = tx.warnings.open_in_regions(regions) if regions else []
        inhibitors = _Inhibitors([self.targets.target(w) for w in sources])
        seen_silences = {s.id for s in silences if sees(principal.scope, silence_place(s))}
        seen_warnings = {w.id for w in sources if sees(principal.scope, warning_place(w))}
        out: list[AlertView] = []
        for warning, target in zip(shown, targets, strict=True):
            silencing = silenced_by(target, silences, now)
            inhibiting = inhibited_by(target, inhibitors.near(target), self.config.inhibit_rules)
            view = view_of(
                warning,
                receivers=self._receivers(target),
                silenced_by=tuple(s for s in silencing if s in seen_silences),
                inhibited_by=tuple(i for i in inhibiting if i in seen_warnings),
                suppressed=bool(silencing or inhibiting),
                url=f"{url.rstrip('/')}/api/v1/warnings/{warning.id}",
            )
            if query.admits(view, silenced=bool(silencing), inhibited=bool(inhibiting), now=now):
                out.append(view)
        return sorted(out, key=lambda v: (v.fingerprint, v.warning_id))

    def silences(self, *, principal: Principal) -> list[tuple[Silence, str]]:
        """Every silence the principal sees, expired ones too, in Alertmanager's order, each
        with the label that names its region's subtree (`region_<level>`)."""
        found = self.silence_reads.find(include_expired=True, principal=principal)
        ordered = alertmanager_order(found, self.clock.now())
        return [(s, self.region_label(s.selector.region)) for s in ordered]

    def region_label(self, region: str | None) -> str:
        """The label that names a region's subtree: `region_<level>` (`region` for none)."""
        tree = self.catalog.regions
        if region is None or region not in tree:
            return "region"
        return level_label(tree.regions[RegionCode(region)].level)

    def _receivers(self, target: Target) -> tuple[str, ...]:
        """The receivers of the routes the target ends up on (a route without one, such as a
        responsible unit where none is, names none)."""
        names = [receiver_for(r, target) for r in match_routes(self.config.root, target)]
        return tuple(dict.fromkeys(n for n in names if n))


class _Inhibitors:
    """Open warnings that may inhibit others, indexed by region and by asset (a storm's board
    holds thousands: each target is compared with those near it, not with all)."""

    def __init__(self, sources: Sequence[Target]) -> None:
        self.by_region: dict[str, list[Target]] = {}
        self.by_asset: dict[str, list[Target]] = {}
        for s in sources:
            self.by_region.setdefault(s.region, []).append(s)
            asset = s.labels.get("asset", "")
            if asset:
                self.by_asset.setdefault(asset, []).append(s)

    def near(self, target: Target) -> list[Target]:
        """The sources in a region above the target or on an asset it depends on."""
        found = {
            s.warning_id: s for region in target.regions[1:] for s in self.by_region.get(region, ())
        }
        for asset in target.depends_on:
            found.update((s.warning_id, s) for s in self.by_asset.get(asset, ()))
        return list(found.values())
