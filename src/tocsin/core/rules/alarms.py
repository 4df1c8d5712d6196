"""The decision on detector scores: alarm episodes with hysteresis, and NAB's first-alarm output.

Detectors only score (0.5 = the detector's own decision threshold, for every detector). This rule
decides, per series and in time order:

* an **episode** starts when the score reaches ``threshold`` and ends after ``hold`` consecutive
  observations below it (so a score hovering at the threshold does not flap; the same rule keeps
  ``auto`` from learning during an alarm); the per-row flag is what ``tocsin detect`` writes as
  ``is_anomaly``;
* a **fresh** detection is an episode's first row unless it falls within the **quiet period** of the
  previous fresh detection: ``quiet_fraction`` of the observations the series had seen at that
  detection. Only the first alarm of an episode carries news — NAB (Lavin & Ahmad 2015) rewards the
  earliest detection in a window and charges every later one, and a duty desk does the same — so
  the NAB output (:func:`first_alarm_scores`) keeps a score only where it is fresh or below the
  threshold.

State per series is four integers (observations seen, raised flag, calm rows, quiet rows left), so
the rule
runs over a whole batch of interleaved series in one compiled loop, like the threshold
rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class AlarmRule:
    """Episode and quiet-period parameters (scores on the common scale: 0.5 = decision)."""

    threshold: float = 0.5
    hold: int = 60
    quiet_fraction: float = 0.03
    upgrade: float = 0.1

    def __post_init__(self) -> None:
        """Reject values outside their ranges."""
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold!r}")
        if isinstance(self.hold, bool) or not isinstance(self.hold, int) or self.hold < 1:
            raise ValueError(f"hold must be an integer >= 1, got {self.hold!r}")
        if not 0.0 <= self.quiet_fraction < 1.0:
            raise ValueError(f"quiet_fraction must be in [0, 1), got {self.quiet_fraction!r}")
        if not self.upgrade >= 0.0:
            raise ValueError(f"upgrade must be >= 0, got {self.upgrade!r}")


@dataclass(slots=True)
class AlarmState:
    """Per-series state of the alarm rule (arrays, grown on demand)."""

    seen: I64
    raised: I64
    calm: I64
    quiet: I64
    peak: F64

    @classmethod
    def empty(cls, n: int = 0) -> AlarmState:
        """State for ``n`` series that have seen nothing."""
        z = np.zeros(n, np.int64)
        return cls(z, z.copy(), z.copy(), z.copy(), np.zeros(n))

    def ensure(self, n: int) -> None:
        """Grow to hold at least ``n`` series."""
        extra = n - self.seen.size
        if extra > 0:
            pad = np.zeros(extra, np.int64)
            for name in ("seen", "raised", "calm", "quiet"):
                setattr(self, name, np.concatenate([getattr(self, name), pad]))
            self.peak = np.concatenate([self.peak, np.zeros(extra)])


@njit(cache=True)
def _decide(  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    series, scores, state, threshold, hold, quiet_fraction, upgrade, flags, fresh
):
    """Advance every series over the batch; fill the per-row flags and fresh detections."""
    seen, raised, calm, quiet, peak = state
    for i in range(scores.shape[0]):
        k = series[i]
        s = scores[i]
        if math.isnan(s):
            flags[i] = raised[k] == 1
            continue
        was = raised[k] == 1
        if s >= threshold:
            now = True
            calm[k] = 0
        elif was:
            calm[k] += 1
            now = calm[k] < hold
        else:
            now = False
        raised[k] = 1 if now else 0
        flags[i] = now
        if now and not was:
            peak[k] = s
        if now and quiet[k] == 0 and (not was or s > peak[k] + upgrade):
            fresh[i] = True
            quiet[k] = int(quiet_fraction * seen[k])
            peak[k] = max(peak[k], s)
        elif quiet[k] > 0:
            quiet[k] -= 1
        seen[k] += 1


def decide(rule: AlarmRule, state: AlarmState, series: I64, scores: F64) -> tuple[Flags, Flags]:
    """Per-row alarm flags and fresh detections; advances ``state`` in place."""
    s = np.ascontiguousarray(series, dtype=np.int64)
    v = np.ascontiguousarray(scores, dtype=np.float64)
    if s.shape != v.shape:
        raise ValueError("series and scores must have the same length")
    flags = np.zeros(v.size, dtype=np.bool_)
    fresh = np.zeros(v.size, dtype=np.bool_)
    if v.size:
        state.ensure(int(s.max()) + 1)
        arrays = (state.seen, state.raised, state.calm, state.quiet, state.peak)
        _decide(
            s, v, arrays, rule.threshold, rule.hold, rule.quiet_fraction, rule.upgrade, flags, fresh
        )
    return flags, fresh


def first_alarm_scores(scores: F64, flags: Flags, fresh: Flags) -> F64:
    """NAB's output: the score where a detection is fresh or no alarm is raised, else 0."""
    out = np.where(fresh | ~flags, scores, 0.0)
    return np.nan_to_num(out, nan=0.0)
