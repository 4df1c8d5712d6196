"""Cascades feed the index: failed or degraded assets change the indicators they support.

A model (or a scenario) says, per kind of asset or per asset, which input or node of the asset's
region it supports and what happens to it when the asset has *failed* or is *degraded*
(`AssetEffect`): a hospital out of service lowers the region's physicians per 10,000 people, a
substation down sets the share of people with electricity to 0. The asset cascade
(`cascades.assets.cascade`) decides which assets fail or are degraded, from a what-if's assets
failed at the start or from live warnings on assets; `effect_adjustments` turns those states into
adjustments of the index, so a scenario moves the composite risk of the regions that depend on
the assets.

Each affected asset changes its own region's row (or, when the index is not computed for that
region, the nearest ancestor it is computed for); several assets with effects on the same target
and region apply one after the other, in order of their codes (two degraded substations that each
halve a supply leave a quarter of it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from tocsin.core.assets import Asset
from tocsin.core.levels import Level
from tocsin.core.regions import RegionCode, RegionTree
from tocsin.core.risk.adjustments import AdjustOp, NodeAdjustment

BoolArray = NDArray[np.bool_]


class AssetState(StrEnum):
    """What the cascade left of an asset."""

    FAILED = "failed"
    DEGRADED = "degraded"


@dataclass(frozen=True, slots=True)
class Effect:
    """One change of a target value: add, multiply or set by `amount`."""

    op: AdjustOp
    amount: float


@dataclass(frozen=True, slots=True)
class AssetEffect:
    """How failed or degraded assets change an input or node (`target`) of their region.

    It applies to the assets listed in `assets` and to every asset of a kind in `kinds` (both
    empty: every asset). `clip` bounds the changed value.
    """

    target: str
    kinds: tuple[str, ...] = ()
    assets: tuple[str, ...] = ()
    failed: Effect | None = None
    degraded: Effect | None = None
    clip: tuple[float, float] | None = None

    def applies_to(self, code: str, kind: str) -> bool:
        """Whether this effect concerns the asset `code` of kind `kind`."""
        if not self.kinds and not self.assets:
            return True
        return code in self.assets or (bool(kind) and kind in self.kinds)

    def effect(self, state: AssetState) -> Effect | None:
        """The change for an asset in this state (None: nothing changes)."""
        return self.failed if state is AssetState.FAILED else self.degraded


@dataclass(frozen=True, slots=True)
class AssetSite:
    """Where an asset is (its region) and what it is (its kind)."""

    region: str
    kind: str = ""


def states_from_levels(
    levels: Mapping[str, Level], *, failed_at: Level, degraded_at: Level
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Assets failed and degraded at the start, from the worst open warning level on each:
    at or above `failed_at` an asset has failed, at or above `degraded_at` it is degraded."""
    failed = tuple(sorted(a for a, lv in levels.items() if lv.rank >= failed_at.rank))
    degraded = tuple(
        sorted(a for a, lv in levels.items() if degraded_at.rank <= lv.rank < failed_at.rank)
    )
    return failed, degraded


def asset_sites(assets: Iterable[Asset]) -> dict[str, AssetSite]:
    """Where each asset (of a configuration catalog, say) is, and its kind."""
    return {str(a.code): AssetSite(str(a.region), a.kind) for a in assets}


@dataclass(frozen=True, slots=True)
class AppliedEffect:
    """One asset's effect on one target in one region, as applied to the index."""

    asset: str
    state: AssetState
    target: str
    region: str
    op: AdjustOp
    amount: float


def row_region(region: str, codes: Sequence[str], tree: RegionTree | None) -> str | None:
    """The region among `codes` that stands for `region`: itself, or its nearest ancestor."""
    present = set(codes)
    if region in present:
        return region
    if tree is None or region not in tree:
        return None
    return next((a for a in tree.ancestors(RegionCode(region)) if a in present), None)


def effect_adjustments(
    effects: Sequence[AssetEffect],
    states: Mapping[str, AssetState],
    *,
    sites: Mapping[str, AssetSite],
    codes: Sequence[str],
    tree: RegionTree | None = None,
    rows: BoolArray | None = None,
) -> tuple[list[NodeAdjustment], list[AppliedEffect]]:
    """Adjustments for every (asset in `states`, effect that applies to it), in asset order.

    `codes` are the region of each row of the table; `rows` (optional) limits the rows changed,
    e.g. to the latest period. Assets without a known region change nothing.
    """
    codes_arr = np.asarray(codes, dtype=object)
    adjustments: list[NodeAdjustment] = []
    applied: list[AppliedEffect] = []
    for code in sorted(states):
        site = sites.get(code)
        region = None if site is None else row_region(site.region, codes, tree)
        if site is None or region is None:
            continue
        mask = codes_arr == region
        if rows is not None:
            mask = mask & rows
        for spec in effects:
            change = spec.effect(states[code])
            if change is None or not spec.applies_to(code, site.kind):
                continue
            adjustments.append(
                NodeAdjustment(spec.target, change.op, change.amount, mask, spec.clip)
            )
            applied.append(
                AppliedEffect(code, states[code], spec.target, region, change.op, change.amount)
            )
    return adjustments, applied
