"""The cyber exposure of each region, as a row of inputs for the composite risk model.

A region's row counts what its assets run into: assets with a software inventory, those with an
unpatched exposure, unpatched known-exploited exposures and how many are past the catalogue's
due date, the highest CVSS score among them, and its assets that fail or degrade when an exposed
asset anywhere is lost (the cascade). `models/cyber_exposure.yaml` turns these into a cyber
score per region, which enters the composite index as a domain like any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from tocsin.core.assets import Asset, AssetCode
from tocsin.core.exposure.exposures import Exposure, consequences_of

FloatArray = NDArray[np.float64]
HEADER = ("region", "name")  # the model's id and name columns, before COLUMNS
COLUMNS = ("CY_ASSETS", "CY_EXPOSED", "CY_KEV", "CY_KEV_OVERDUE", "CY_MAX_CVSS", "CY_DEPENDENT")


@dataclass(frozen=True, slots=True)
class RegionExposure:
    """One region's cyber exposure inputs (`max_cvss` None: no scored exposure)."""

    region: str
    assets: int
    exposed: int
    known_exploited: int
    overdue: int
    max_cvss: float | None
    dependent: int

    def values(self) -> tuple[float | None, ...]:
        """The values in the order of COLUMNS."""
        counts = (self.assets, self.exposed, self.known_exploited, self.overdue)
        return (*(float(c) for c in counts), self.max_cvss, float(self.dependent))


def region_exposure(
    assets: Mapping[AssetCode, Asset],
    exposures: Iterable[Exposure],
    *,
    inventoried: Iterable[str],
    today: date,
) -> list[RegionExposure]:
    """A row per region holding an inventoried asset or an asset at risk, by region code."""
    region_of = {str(code): str(a.region) for code, a in assets.items()}
    open_ = [e for e in exposures if e.patched is None]
    watched: dict[str, set[str]] = {}
    for code in inventoried:
        watched.setdefault(region_of[code], set()).add(code)
    exposed = {e.asset for e in open_}
    dependent: dict[str, set[str]] = {}
    for code in sorted(exposed):
        harm = consequences_of(assets, code)
        for other in (*harm.failed, *harm.degraded):
            dependent.setdefault(region_of[other], set()).add(other)
    rows = []
    for region in sorted(set(watched) | set(dependent)):
        here = [e for e in open_ if region_of[e.asset] == region]
        kev = [e for e in here if e.advisory.known_exploited]
        scores = [e.advisory.cvss_score for e in here if e.advisory.cvss_score is not None]
        rows.append(
            RegionExposure(
                region,
                assets=len(watched.get(region, ())),
                exposed=len({e.asset for e in here}),
                known_exploited=len(kev),
                overdue=sum(1 for e in kev if e.due_on is not None and e.due_on < today),
                max_cvss=max(scores) if scores else None,
                dependent=len(dependent.get(region, ())),
            )
        )
    return rows


def table_rows(found: Iterable[RegionExposure], names: Mapping[str, str]) -> list[list[str]]:
    """The rows of the model's input table (header first: HEADER and COLUMNS; empty cells
    where a value is missing), as `tocsin exposure regions --out` writes it."""
    rows = [[*HEADER, *COLUMNS]]
    for r in found:
        cells = ("" if v is None else f"{v:g}" for v in r.values())
        rows.append([r.region, names.get(r.region, r.region), *cells])
    return rows


def input_columns(found: Sequence[RegionExposure]) -> tuple[list[str], dict[str, FloatArray]]:
    """The regions and one array per column of COLUMNS (NaN where a value is missing)."""
    values = [r.values() for r in found]
    columns = {
        name: np.array([np.nan if v[k] is None else v[k] for v in values], dtype=np.float64)
        for k, name in enumerate(COLUMNS)
    }
    return [r.region for r in found], columns
