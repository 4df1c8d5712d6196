"""An indicator table: one row per region, one float column per indicator id (NaN = missing)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class IndicatorTable:
    """Input values: region ids (and names), one float array per indicator column."""

    ids: tuple[str, ...]
    names: tuple[str, ...]
    columns: Mapping[str, FloatArray]

    def index_of(self, region: str) -> int:
        """Row of a region id (KeyError if absent)."""
        try:
            return self.ids.index(region)
        except ValueError:
            raise KeyError(region) from None
