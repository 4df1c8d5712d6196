"""The default detector (``kind: auto``): record-breaking evidence over a protected baseline.

One configuration for every series, no per-series tuning, nothing read from timestamps. Each
observation feeds five measures of surprise; each is divided by its **record** — the largest value
it took over the memory (``block * nblocks`` learnt observations) — so the evidence is scale-free
and comparable across series and along a series:

* **range** — how far the value lies from the middle of the remembered [min, max], in half-ranges:
  ``(1 + |x - mid| / half) / 2`` is 1 at the edge. Numenta adds the same "spatial anomaly" rule to
  HTM (Ahmad, Lavin, Purdy & Agha 2017, Neurocomputing 262). The same rule runs on EWMA-smoothed
  copies of the stream (``scales``: time scales of about 4, 16 and 64 observations, a geometric
  ladder as in a multi-resolution pyramid, Burt & Adelson 1983), so a sustained rise that never
  beats the raw spikes still breaks the record of a coarser scale;
* **shift** — a fast EWMA against a slow Huber-clipped baseline, in baseline standard deviations
  (a level-shift statistic in the spirit of CUSUM, Page 1954; Huber 1964 for the clipped update);
* **shape** — the distance from the newest short window (``window`` piecewise means of ``agg``
  values; PAA, Keogh et al. 2001) to its nearest neighbour in a bounded history of ``history``
  means: nearest-neighbour novelty as in KNN-CAD (Burnaev & Ishimtsev 2016) and a left discord as
  in the matrix profile (Yeh et al. 2016; DAMP, Lu et al. 2022);
* **period** — the same discord for a window spanning one detected period (``period_window``
  means, each over ``period / period_window`` values, demeaned), against ``period_history`` means;
* **season** — |z| of the value against a robust mean and scale of its phase of the detected
  period (``bins`` phases; Holt-Winters' per-phase baseline, Winters 1960).

The period is detected from the data — from the intervals between mean crossings of the smoothed
copies (see :mod:`tocsin.core.detectors.shapes`) — never assumed from timestamps; a series with no
regular cycle has no period and no period or season measure.

A measure's ratio is ``weight * value / record`` (the range measures ``weight * (1 + e) / 2``);
``r`` is the largest, the score ``r / (1 + r)``: 0.5 at a broken record (the decision threshold of
every Tocsin detector), increasing without saturating, so the highest score stays the strongest
evidence. **Learning is protected**: once warm (``warmup`` observations), ``r >= 1`` starts an
alarm, which lasts until ``hold`` consecutive calm observations; nothing is learnt during it, so a
persistent anomaly keeps breaking the pre-anomaly records and keeps its score. **A new normal** is
adopted when an alarm has lasted ``adopt`` times as long as the normal history learnt so far (and
at least ``warmup`` observations): the series then starts afresh, and its warning can lift.

Deciding is not the detector's job: the alarm rule (:mod:`tocsin.core.rules.alarms`) turns scores
into episodes and first alarms. NaN policy: a NaN scores 0 and is not learnt.

Example:
    >>> import numpy as np
    >>> v = np.sin(np.arange(3000) / 20.0) + 0.05 * np.random.default_rng(0).normal(size=3000)
    >>> v[2800:2900] += 3.0  # a persistent shift
    >>> det = AutoDetector()
    >>> s = det.score_batch(np.zeros(3000, dtype=np.int64), np.arange(3000), v)
    >>> bool((s[2800:2900] >= 0.5).all()), bool((s[2000:2800] < 0.5).mean() > 0.99)
    (True, True)
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from tocsin.core.detectors.arrays import Band, BoolArray, FloatArray, IntArray, StateArrays
from tocsin.core.detectors.auto_kernel import auto_kernel
from tocsin.core.detectors.auto_state import (
    COMPONENTS,
    CONFIG_DTYPE,
    AutoLayout,
    state_dtype,
)
from tocsin.core.detectors.base import ArrayDetector, StateField, finite_band
from tocsin.core.detectors.hyperparameters import check_all_positive, check_unit

N_WEIGHTS = len(COMPONENTS)


class AutoDetector(ArrayDetector):
    """Record-breaking ensemble (range, shift, shape, period, season) on a protected baseline."""

    kind: ClassVar[str] = "auto"
    params: ClassVar[tuple[str, ...]] = (
        "alpha", "fast", "huber", "window", "agg", "history", "period_history", "bins",
        "seasonal_alpha", "block",
        "nblocks", "burn", "warmup", "hold", "adopt", "weights", "scales", "min_acf",
        "w_channels",
    )  # fmt: skip

    def __init__(
        self,
        alpha: float = 0.02,
        fast: float = 0.1,
        huber: float = 3.0,
        window: int = 6,
        agg: int = 2,
        history: int = 64,
        period_history: int = 128,
        bins: int = 32,
        seasonal_alpha: float = 0.2,
        block: int = 256,
        nblocks: int = 24,
        burn: int = 100,
        warmup: int = 150,
        hold: int = 8,
        adopt: float = 4.0,
        weights: tuple[float, ...] = (0.97, 0.9, 1.0, 1.0, 1.0),
        scales: tuple[float, ...] = (0.25, 0.0625, 0.015625),
        min_acf: float = 0.3,
        w_channels: float = 1.0,
    ) -> None:
        """Validate and store the hyperparameters."""
        check_unit("alpha", alpha)
        check_unit("seasonal_alpha", seasonal_alpha)
        check_unit("fast", fast, closed=True)
        check_unit("min_acf", min_acf)
        check_all_positive(
            huber=huber, window=window, agg=agg, history=history, period_history=period_history,
            bins=bins, block=block, nblocks=nblocks, warmup=warmup, hold=hold, adopt=adopt,
        )  # fmt: skip
        if history < 2 * window or period_history < 32:
            raise ValueError("history must hold two windows (history >= 2 * window, >= 32)")
        if burn < 0:
            raise ValueError(f"burn must be >= 0, got {burn!r}")
        if len(weights) != N_WEIGHTS or any(w < 0 for w in weights):
            raise ValueError(f"weights needs {N_WEIGHTS} non-negative entries {COMPONENTS}")
        for a in scales:
            check_unit("scales", a, closed=True)
        self.alpha, self.fast, self.huber = float(alpha), float(fast), float(huber)
        self.window, self.agg, self.history = int(window), int(agg), int(history)
        self.period_history, self.bins = int(period_history), int(bins)
        self.seasonal_alpha = float(seasonal_alpha)
        self.block, self.nblocks, self.burn = int(block), int(nblocks), int(burn)
        self.warmup, self.hold, self.adopt = int(warmup), int(hold), float(adopt)
        self.weights = tuple(float(w) for w in weights)
        self.scales = tuple(float(a) for a in scales)
        self.min_acf = float(min_acf)
        if not 0.0 <= w_channels <= 1.0:
            raise ValueError(f"w_channels must be in [0, 1], got {w_channels!r}")
        self.w_channels = float(w_channels)

    def layout(self) -> AutoLayout:
        """The sizes of the per-series record."""
        return AutoLayout(
            scales=len(self.scales),
            nblocks=self.nblocks,
            window=self.window,
            history=self.history,
            period_history=self.period_history,
            bins=self.bins,
        )

    def config(self) -> npt.NDArray[Any]:
        """The hyperparameters as the one-element configuration record the kernel reads."""
        cfg = np.zeros(1, dtype=CONFIG_DTYPE)
        w_range, w_shift, w_shape, w_period, w_season = self.weights
        values = {
            "alpha": self.alpha, "fast": self.fast, "huber": self.huber,
            "seasonal_alpha": self.seasonal_alpha, "window": self.window,
            "agg": self.agg, "block": self.block, "burn": self.burn, "warmup": self.warmup,
            "hold": self.hold, "adopt": self.adopt, "w_range": w_range, "w_shift": w_shift,
            "w_shape": w_shape, "w_period": w_period, "w_season": w_season,
            "min_acf": self.min_acf, "w_channels": self.w_channels,
        }  # fmt: skip
        for name, value in values.items():
            cfg[name] = value
        return cfg

    def _fields(self) -> dict[str, StateField]:
        return {"rec": StateField(state_dtype(self.layout()))}  # type: ignore[arg-type]

    def _run(self, state: StateArrays, s: IntArray, t: IntArray, v: FloatArray) -> FloatArray:
        scales = np.array(self.scales, dtype=np.float64)
        out: FloatArray = auto_kernel(state["rec"], s, v, self.config(), scales)
        return out

    def _ready(self, state: StateArrays, s: IntArray) -> BoolArray:
        return np.asarray(state["rec"]["n"][s] >= self.warmup)

    def _band(self, state: StateArrays, s: IntArray) -> Band:
        """The remembered [min, max] range: a value outside it breaks the range record."""
        rec = state["rec"][s]
        return finite_band(rec["lo"], rec["hi"])

    def measure(self, series: npt.ArrayLike) -> list[str]:
        """The measure that gave each series' last score (range, shift, shape, period, season;
        empty for a series never seen)."""
        s = np.asarray(series, dtype=np.int64)
        known = (s >= 0) & (s < self._state.n_series)
        comps = np.full(s.shape, -1, dtype=np.int64)
        comps[known] = self._state.arrays["rec"]["comp"][s[known]]
        return [COMPONENTS[int(c)] if c >= 0 else "" for c in comps]

    def periods(self, series: npt.ArrayLike) -> FloatArray:
        """The period detected for each series, in observations (0: none found)."""
        s = np.asarray(series, dtype=np.int64)
        out = np.zeros(s.shape, dtype=np.float64)
        known = (s >= 0) & (s < self._state.n_series)
        out[known] = self._state.arrays["rec"]["period"][s[known]]
        return out
