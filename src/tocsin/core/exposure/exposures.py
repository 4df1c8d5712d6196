"""Exposures: which advisories apply to which assets, what a patch settles, what is at risk.

An exposure is one (asset, advisory) match. Its level comes from the advisory (`level_of`); a
patch recorded on the asset for the advisory settles it. Its consequences are the failure
cascade over the asset graph if the asset were lost (`cascades.assets.cascade`): the assets that
fail with it, those left degraded, and the regions they are in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from tocsin.core.assets import Asset, AssetCode
from tocsin.core.cascades.assets import cascade, requirements_of
from tocsin.core.exposure.advisories import Advisory, level_of
from tocsin.core.exposure.matching import (
    Key,
    VersionOrder,
    advisory_keys,
    match,
    software_keys,
)
from tocsin.core.exposure.software import Software, parse_software
from tocsin.core.levels import Level


@dataclass(frozen=True, slots=True)
class Patch:
    """A recorded remedy: the asset no longer has the advisory's vulnerability."""

    asset: str
    advisory: str
    patched_at: datetime
    actor: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Consequences:
    """What losing an asset takes with it over the dependency graph."""

    failed: tuple[str, ...]
    degraded: tuple[str, ...]
    regions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Exposure:
    """One advisory matched on one asset."""

    asset: str
    advisory: Advisory
    software: tuple[str, ...]
    level: Level
    patched: Patch | None = None

    @property
    def due_on(self) -> date | None:
        """The date by which the catalogue requires action (known exploited only)."""
        return self.advisory.due_on


def inventory_of(
    assets: Mapping[AssetCode, Asset], imported: Mapping[str, Sequence[str]]
) -> dict[str, tuple[Software, ...]]:
    """Each asset's software: configured names, then imported ones (duplicates once)."""
    out: dict[str, tuple[Software, ...]] = {}
    for code, asset in assets.items():
        names = dict.fromkeys([*asset.software, *imported.get(str(code), ())])
        out[str(code)] = tuple(parse_software(n) for n in names)
    return out


def find_exposures(
    inventory: Mapping[str, Sequence[Software]],
    advisories: Iterable[Advisory],
    *,
    patches: Iterable[Patch],
    order: VersionOrder,
) -> list[Exposure]:
    """Every (asset, advisory) match, with the patch that settles it if one is recorded.

    An advisory is tried on an asset only when one of the asset's names has a key the advisory
    can match through (`advisory_keys`): the same result as trying every pair, without the
    pairs that cannot match."""
    settled = {(p.asset, p.advisory): p for p in patches}
    by_key: dict[Key, list[int]] = {}
    always: list[int] = []
    items = list(advisories)
    for i, advisory in enumerate(items):
        keys = advisory_keys(advisory)
        for key in keys if keys is not None else ():
            by_key.setdefault(key, []).append(i)
        if keys is None:
            always.append(i)
    out: list[Exposure] = []
    for asset, software in sorted(inventory.items()):
        candidates = {i for s in software for k in software_keys(s) for i in by_key.get(k, ())}
        for advisory in (items[i] for i in sorted(candidates.union(always))):
            found = match(advisory, software, order=order)
            if found is not None:
                patch = settled.get((asset, advisory.id))
                out.append(Exposure(asset, advisory, found.software, level_of(advisory), patch))
    return out


def consequences_of(assets: Mapping[AssetCode, Asset], code: str) -> Consequences:
    """The assets that fail or degrade if `code` is lost, and their regions (itself excluded)."""
    result = cascade(requirements_of(assets), [code])
    failed = tuple(sorted(a for a in result.failed if a != code))
    degraded = tuple(sorted(result.degraded))
    by_code = {str(k): v for k, v in assets.items()}
    regions = sorted({str(by_code[a].region) for a in (*failed, *degraded) if a in by_code})
    return Consequences(failed, degraded, tuple(regions))


def consequences_seen(
    harm: Consequences, assets: Mapping[AssetCode, Asset], *, seen: Callable[[Asset], bool]
) -> Consequences:
    """The consequences a reader may be told of: the assets `seen` holds (an asset no longer in
    the inventory is not told) and the regions of those only."""
    by_code = {str(k): v for k, v in assets.items()}
    kept = [a for a in (*harm.failed, *harm.degraded) if a in by_code and seen(by_code[a])]
    regions = {str(by_code[a].region) for a in kept}
    return Consequences(
        tuple(a for a in harm.failed if a in kept),
        tuple(a for a in harm.degraded if a in kept),
        tuple(r for r in harm.regions if r in regions),
    )


def by_due_date(exposures: Iterable[Exposure]) -> list[Exposure]:
    """Open known-exploited exposures, the earliest due date first (then asset, advisory)."""
    listed = [e for e in exposures if e.advisory.known_exploited and e.patched is None]
    return sorted(listed, key=lambda e: (e.due_on or date.max, e.asset, e.advisory.id))


@dataclass(frozen=True, slots=True)
class CascadeStep:
    """An asset in the cascade from a lost one: `exposed` (the start), `failed` or `degraded`,
    with the step at which it fails (0 for the start; None when only degraded)."""

    asset: str
    state: str
    step: int | None


def cascade_from(
    assets: Mapping[AssetCode, Asset], code: str
) -> tuple[list[CascadeStep], list[tuple[str, str]]]:
    """The assets a loss of `code` reaches, and the dependency edges (supplier, dependant)
    between them, for drawing the cascade."""
    result = cascade(requirements_of(assets), [code])
    steps = [
        CascadeStep(a, "exposed" if a == code else "failed", s)
        for a, s in sorted(result.failed.items(), key=lambda item: (item[1], item[0]))
    ]
    steps += [CascadeStep(a, "degraded", None) for a in sorted(result.degraded)]
    reached = {s.asset for s in steps}
    edges = sorted(
        (str(dep), str(a.code))
        for a in assets.values()
        if str(a.code) in reached
        for dep in a.depends_on
        if str(dep) in reached
    )
    return steps, edges
