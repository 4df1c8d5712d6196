"""Indicator reads: the catalogue's indicators, their stored series and replayed scores, each
within the reading principal's scope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tocsin.core.access import Placement, Principal, require, require_place, visible
from tocsin.core.catalog import Catalog
from tocsin.core.errors import NotFound
from tocsin.core.indicators import Indicator
from tocsin.core.observation_rollups import Rollup
from tocsin.core.observations import ObservationBatch
from tocsin.core.regions import RegionCode
from tocsin.core.users import Permission
from tocsin.ports import Store
from tocsin.services.rules import RuleBook
from tocsin.services.scoring import replay_scores


def indicator_place(indicator: Indicator) -> Placement:
    """Where an indicator (and its observations) sits, for the access policy."""
    return Placement(indicator.region, indicator.domain)


@dataclass(frozen=True)
class IndicatorService:
    """Indicators and their series, as the principal may see them."""

    store: Store
    catalog: Catalog
    rules: RuleBook

    def listing(self, *, principal: Principal, region: str | None = None) -> list[Indicator]:
        """The indicators the principal sees (of `region` and its subtree, if given)."""
        require(principal, Permission.READ)
        tree = self.catalog.regions
        chosen = [
            ind
            for ind in self.catalog.indicators
            if region is None or tree.is_within(ind.region, RegionCode(region))
        ]
        return visible(principal, chosen, indicator_place)

    def indicator(self, code: str, *, principal: Principal) -> Indicator:
        """One indicator (NotFound when unknown, Forbidden outside the scope)."""
        require(principal, Permission.READ)
        ident = self.rules.ids.get(code)
        if ident is None:
            raise NotFound(f"unknown indicator {code!r}")
        found = self.rules.by_id[ident]
        require_place(principal, indicator_place(found), action=f"reading indicator {code}")
        return found

    def series(
        self,
        code: str,
        *,
        principal: Principal,
        since: int | None = None,
        until: int | None = None,
        limit: int = 100_000,
    ) -> ObservationBatch:
        """An indicator's stored observations, oldest first."""
        self.indicator(code, principal=principal)
        with self.store.transaction() as tx:
            return tx.observations.read(self.rules.ids[code], since=since, until=until, limit=limit)

    def rollups(
        self,
        code: str,
        *,
        principal: Principal,
        since: int | None = None,
        until: int | None = None,
    ) -> list[Rollup]:
        """An indicator's summaries of observations past their raw retention, oldest first."""
        self.indicator(code, principal=principal)
        with self.store.transaction() as tx:
            return tx.observations.rollups(self.rules.ids[code], since=since, until=until)

    def scores(self, code: str, *, principal: Principal, kind: str | None = None) -> dict[str, Any]:
        """Anomaly scores of the indicator's stored history (see `replay_scores`)."""
        self.indicator(code, principal=principal)
        return replay_scores(self.store, self.rules, code, kind=kind)
