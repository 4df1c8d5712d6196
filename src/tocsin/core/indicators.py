"""Indicators: one measured quantity in one region and domain, with per-level thresholds."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Any, NewType

from tocsin.core.domains import DomainCode
from tocsin.core.levels import LEVELS, Level
from tocsin.core.regions import RegionCode

IndicatorCode = NewType("IndicatorCode", str)


class Direction(StrEnum):
    """Whether higher or lower values are worse."""

    HIGHER_IS_WORSE = "higher_is_worse"
    LOWER_IS_WORSE = "lower_is_worse"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The value at which each level starts (None: that level is not used)."""

    blue: float | None = None
    yellow: float | None = None
    orange: float | None = None
    red: float | None = None

    def for_level(self, level: Level) -> float | None:
        """The threshold of one level."""
        value: float | None = getattr(self, level.value)
        return value

    def as_tuple(self) -> tuple[float, float, float, float]:
        """Thresholds blue..red with NaN for unused levels (array form for kernels)."""
        return tuple(  # type: ignore[return-value]
            math.nan if (t := self.for_level(lv)) is None else float(t) for lv in LEVELS
        )

    def problems(self, direction: Direction) -> list[str]:
        """Reasons these thresholds are inconsistent (must grow in the worse direction)."""
        used = [(lv, t) for lv in LEVELS if (t := self.for_level(lv)) is not None]
        out = [
            f"{lv.value} threshold is not a finite number" for lv, t in used if not math.isfinite(t)
        ]
        sign = 1.0 if direction is Direction.HIGHER_IS_WORSE else -1.0
        for (lo_lv, lo), (hi_lv, hi) in pairwise(used):
            if sign * (hi - lo) <= 0:
                worse = "above" if sign > 0 else "below"
                out.append(f"{hi_lv.value} threshold {hi} must lie {worse} {lo_lv.value} ({lo})")
        return out


@dataclass(frozen=True, slots=True)
class DetectorRule:
    """Fire on a detector's anomaly score: per-level score thresholds and durations."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    thresholds: Thresholds = Thresholds(yellow=0.5)
    raise_after: timedelta = timedelta(0)
    clear_after: timedelta = timedelta(0)

    def key(self) -> str:
        """Indicators whose rules share this key share one detector instance."""
        return self.kind + repr(sorted(self.params.items()))


@dataclass(frozen=True, slots=True)
class Indicator:
    """A measured quantity: where, what domain, its unit, cadence, direction and thresholds."""

    code: IndicatorCode
    name: str
    region: RegionCode
    domain: DomainCode
    unit: str = ""
    cadence: timedelta | None = None
    direction: Direction = Direction.HIGHER_IS_WORSE
    thresholds: Thresholds = Thresholds()
    raise_after: timedelta = timedelta(0)
    clear_after: timedelta = timedelta(0)
    hysteresis: float = 0.0
    asset: str | None = None
    detector: DetectorRule | None = None
