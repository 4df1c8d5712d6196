"""The threshold-rule engine of a running process: parameters and state for every indicator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tocsin.core.catalog import Catalog
from tocsin.core.indicators import Direction, Indicator
from tocsin.core.rules.thresholds import ThresholdParams, ThresholdState


@dataclass
class RuleBook:
    """Catalogue, stable indicator ids, and the threshold parameters indexed by id."""

    catalog: Catalog
    ids: dict[str, int]
    by_id: dict[int, Indicator]
    params: ThresholdParams

    @classmethod
    def build(cls, catalog: Catalog, ids: dict[str, int]) -> RuleBook:
        """Arrays sized to the largest id; ids without an indicator never fire (NaN thresholds)."""
        by_id = {ids[i.code]: i for i in catalog.indicators}
        n = max(by_id, default=-1) + 1
        thresholds = np.full((n, 4), np.nan)
        higher = np.ones(n, dtype=bool)
        hysteresis = np.zeros(n)
        raise_after = np.zeros(n, dtype=np.int64)
        clear_after = np.zeros(n, dtype=np.int64)
        for ident, ind in by_id.items():
            thresholds[ident] = ind.thresholds.as_tuple()
            higher[ident] = ind.direction is Direction.HIGHER_IS_WORSE
            hysteresis[ident] = ind.hysteresis
            raise_after[ident] = int(ind.raise_after.total_seconds())
            clear_after[ident] = int(ind.clear_after.total_seconds())
        params = ThresholdParams.build(
            thresholds,
            higher_is_worse=higher,
            hysteresis=hysteresis,
            raise_after=raise_after,
            clear_after=clear_after,
        )
        return cls(catalog, ids, by_id, params)

    @property
    def size(self) -> int:
        """Number of series slots (largest id + 1)."""
        return len(self.params)

    def fresh_state(self) -> ThresholdState:
        """State with nothing seen, sized to the rule book."""
        return ThresholdState.empty(self.size)
