"""The catalogue on SQL: configuration tables replaced as a whole, indicator ids kept per code."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Table, insert, select

from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.dialects import DialectWriter
from tocsin.adapters.storage.sql.records import from_row, to_row
from tocsin.core.assets import Asset
from tocsin.core.catalog import Catalog
from tocsin.core.domains import Domain, DomainCode
from tocsin.core.indicators import DetectorRule, Direction, Indicator, IndicatorCode, Thresholds
from tocsin.core.levels import LEVELS
from tocsin.core.regions import Region, RegionCode, RegionTree
from tocsin.core.units import ResponsibleUnit


class SqlCatalog:
    """The CatalogStore port in one transaction."""

    def __init__(self, conn: Connection, writer: DialectWriter) -> None:
        self.conn = conn
        self.writer = writer

    def indicator_ids(self) -> dict[str, int]:
        """Indicator code -> id."""
        i = t.indicators
        return {r.code: r.id for r in self.conn.execute(select(i.c.code, i.c.id))}

    def sync(self, catalog: Catalog) -> dict[str, int]:
        """Replace configuration tables; indicator ids stay stable per code. Processes
        starting together store it in turn (each would otherwise insert what the other's
        uncommitted delete did not remove)."""
        self.writer.exclusive(self.conn, "tocsin.catalog")
        ids = self.indicator_ids()
        next_id = max(ids.values(), default=-1) + 1
        for ind in catalog.indicators:
            if ind.code not in ids:
                ids[ind.code] = next_id
                next_id += 1
        for table in (t.regions, t.domains, t.assets, t.units, t.indicators):
            self.conn.execute(table.delete())
        self._insert(t.regions, [to_row(r) for r in catalog.regions.regions.values()])
        self._insert(t.domains, [to_row(d) for d in catalog.domains.values()])
        self._insert(t.indicators, [_indicator_row(ids[i.code], i) for i in catalog.indicators])
        self._insert(t.assets, [to_row(a) for a in catalog.assets.values()])
        self._insert(t.units, [to_row(u) for u in catalog.units.values()])
        return {i.code: ids[i.code] for i in catalog.indicators}

    def _insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(insert(table), rows)

    def _rows(self, table: Table) -> list[Mapping[Any, Any]]:
        return list(self.conn.execute(select(table)).mappings())

    def stored(self) -> Catalog | None:
        """Rebuild the catalogue from the tables; indicators placed in id order."""
        region_rows = self._rows(t.regions)
        if not region_rows:
            return None
        levels = list(dict.fromkeys(r["level"] for r in region_rows))
        tree = RegionTree.build(tuple(levels), [from_row(Region, r) for r in region_rows])
        domains = {d.code: d for d in (from_row(Domain, r) for r in self._rows(t.domains))}
        ordered = select(t.indicators).order_by(t.indicators.c.id)
        indicators = tuple(_indicator(r) for r in self.conn.execute(ordered).mappings())
        assets = {a.code: a for a in (from_row(Asset, r) for r in self._rows(t.assets))}
        units = {u.code: u for u in (from_row(ResponsibleUnit, r) for r in self._rows(t.units))}
        return Catalog(tree, domains, indicators, assets, units)


def _indicator_row(ident: int, i: Indicator) -> dict[str, Any]:
    return {
        "id": ident,
        "code": i.code,
        "name": i.name,
        "region": i.region,
        "domain": i.domain,
        "unit": i.unit,
        "direction": i.direction.value,
        "thresholds": {lv.value: i.thresholds.for_level(lv) for lv in LEVELS},
        "cadence_s": int(i.cadence.total_seconds()) if i.cadence else None,
        "raise_after_s": int(i.raise_after.total_seconds()),
        "clear_after_s": int(i.clear_after.total_seconds()),
        "hysteresis": i.hysteresis,
        "asset": i.asset,
        "detector": _detector_json(i.detector),
    }


def _indicator(r: Mapping[Any, Any]) -> Indicator:
    return Indicator(
        code=IndicatorCode(r["code"]),
        name=r["name"],
        region=RegionCode(r["region"]),
        domain=DomainCode(r["domain"]),
        unit=r["unit"],
        cadence=timedelta(seconds=r["cadence_s"]) if r["cadence_s"] else None,
        direction=Direction(r["direction"]),
        thresholds=Thresholds(**r["thresholds"]),
        raise_after=timedelta(seconds=r["raise_after_s"]),
        clear_after=timedelta(seconds=r["clear_after_s"]),
        hysteresis=r["hysteresis"],
        asset=r["asset"],
        detector=_detector(r["detector"]),
    )


def _detector_json(rule: DetectorRule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {
        "kind": rule.kind,
        "params": dict(rule.params),
        "thresholds": {lv.value: rule.thresholds.for_level(lv) for lv in LEVELS},
        "raise_after_s": int(rule.raise_after.total_seconds()),
        "clear_after_s": int(rule.clear_after.total_seconds()),
    }


def _detector(data: Mapping[Any, Any] | None) -> DetectorRule | None:
    if not data:
        return None
    return DetectorRule(
        kind=data["kind"],
        params=dict(data["params"]),
        thresholds=Thresholds(**data["thresholds"]),
        raise_after=timedelta(seconds=data["raise_after_s"]),
        clear_after=timedelta(seconds=data["clear_after_s"]),
    )
