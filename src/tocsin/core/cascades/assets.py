"""Failure cascades over asset dependencies: which assets fail, which are degraded, and when.

An asset needs every one of its *requirement groups*; a group is a set of alternative suppliers,
and is met while at least one of them works (redundancy). An asset fails when some group has lost
all its suppliers; it is *degraded* when it still works but some supplier it depends on has
failed (a redundant feed is gone). A plain dependency list is one group per supplier: the asset
fails as soon as anything it depends on fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tocsin.core.assets import Asset, AssetCode

Requirements = Mapping[str, Sequence[Sequence[str]]]


def requirements_of(
    assets: Mapping[AssetCode, Asset] | Mapping[str, Asset],
) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Requirements from `Asset.depends_on`: every dependency is needed (one group each)."""
    return {str(code): tuple((str(d),) for d in a.depends_on) for code, a in assets.items()}


@dataclass(frozen=True, slots=True)
class CascadeResult:
    """Failed assets with the step at which each failed (0 = initial), degraded assets."""

    failed: Mapping[str, int]
    degraded: frozenset[str]
    steps: int

    def failed_at(self, step: int) -> list[str]:
        """Assets that failed at a given step (sorted)."""
        return sorted(a for a, s in self.failed.items() if s == step)


def cascade(requirements: Requirements, initial: Iterable[str]) -> CascadeResult:
    """Propagate failures from `initial` until nothing more fails (breadth first, by step)."""
    users: dict[str, set[str]] = {}
    for asset, groups in requirements.items():
        for group in groups:
            for supplier in group:
                users.setdefault(supplier, set()).add(asset)
    failed: dict[str, int] = dict.fromkeys(initial, 0)
    frontier = set(failed)
    step = 0
    while frontier:
        step += 1
        candidates = set().union(*(users.get(a, set()) for a in frontier)) - failed.keys()
        frontier = {
            a
            for a in candidates
            if any(group and all(s in failed for s in group) for group in requirements[a])
        }
        for a in frontier:
            failed[a] = step
    degraded = {
        a
        for a, groups in requirements.items()
        if a not in failed and any(s in failed for g in groups for s in g)
    }
    return CascadeResult(failed=failed, degraded=frozenset(degraded), steps=step - 1)
