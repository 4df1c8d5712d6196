"""The layout of ``auto``'s per-series state (one numpy record) and of its configuration.

Every series owns one record of :func:`state_dtype`; the compiled kernel reads and writes its
fields by name, so the kernel takes a handful of arguments (the state array, the batch and one
configuration record) however many measures the detector keeps. The record's size is fixed by the
hyperparameters, so the state of a series never grows with its length. Values kept in ``float32``
(window buffers, the autocorrelation pyramid) are stored relative to ``ref``, a reference level
set when the series starts, so large offsets (epoch-like magnitudes) do not eat their precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

F8, F4, I8, I4 = np.float64, np.float32, np.int64, np.int32

# indices of the records kept per memory block (besides the value ranges)
REC_SHIFT, REC_SHAPE, REC_PERIOD, REC_SEASON = 0, 1, 2, 3
N_REC = 4

# which measure gave a score (kept per series for the explanation of a warning)
COMPONENTS: tuple[str, ...] = ("range", "shift", "shape", "period", "season")

# the autocorrelation pyramid: LEVELS levels of pairwise means (level l averages 2**l values), each
# keeping the last RING means and the autocorrelation at lags LAG0 .. 2 * LAG0 - 1 of its own
# means, so together the lags LAG0 .. (2 * LAG0 - 1) * 2**(LEVELS - 1) observations are covered
PYRAMID_LEVELS = 10
PYRAMID_LAG0 = 8
PYRAMID_RING = 2 * PYRAMID_LAG0

# the period-matched window holds one detected period as this many means
PERIOD_WINDOW = 16


@dataclass(frozen=True)
class AutoLayout:
    """The sizes that fix the record layout (from the hyperparameters)."""

    scales: int
    nblocks: int
    window: int
    history: int
    period_history: int
    bins: int


def state_dtype(layout: AutoLayout) -> np.dtype:
    """The record of one series."""
    s, b, lv = layout.scales, layout.nblocks, PYRAMID_LEVELS
    return np.dtype(
        [
            # counters: observations seen, learned (outside alarms), rows in the current alarm,
            # consecutive calm rows within it, the measure that gave the last score
            ("n", I8),
            ("learned", I8),
            ("alarm", I8),
            ("calm", I8),
            ("comp", I8),
            # robust baseline (Huber-clipped EWMA mean and variance), fast EWMA, reference level
            ("m", F8),
            ("v", F8),
            ("f", F8),
            ("ref", F8),
            # EWMA-smoothed copies of the stream, one per scale
            ("e", F8, (s,)),
            # memory blocks: value ranges of the raw and smoothed streams (relative to ref), and
            # records; their maxima over the blocks are kept up to date (recomputed when a block
            # expires)
            ("bmax", F4, (b,)),
            ("bmin", F4, (b,)),
            ("emax", F4, (s, b)),
            ("emin", F4, (s, b)),
            ("rec", F4, (N_REC, b)),
            ("hi", F8),
            ("lo", F8),
            ("ehi", F8, (s,)),
            ("elo", F8, (s,)),
            ("top", F8, (N_REC,)),
            # the raw range, records and level seen during the current alarm: remembered once it
            # is over, or the start of a new normal
            ("a_hi", F8),
            ("a_lo", F8),
            ("a_ehi", F8, (s,)),
            ("a_elo", F8, (s,)),
            ("a_top", F8, (N_REC,)),
            ("a_m", F8),
            # short-window shape: partial sum, the newest window of means (always), the history of
            # means (learnt outside alarms only), a new mean waiting to be learnt, the last discord
            ("s_acc", F8),
            ("s_cnt", I8),
            ("s_fill", I8),
            ("s_new", I8),
            ("s_d", F8),
            ("s_query", F4, (layout.window,)),
            ("s_hist", F4, (layout.history,)),
            # period-matched shape: the same with means over p_dec observations, a query window
            # of one period (PERIOD_WINDOW means)
            ("period", F8),
            ("p_cand", F8),
            ("p_since", I8),
            ("p_dec", I8),
            ("p_acc", F8),
            ("p_cnt", I8),
            ("p_fill", I8),
            ("p_new", I8),
            ("p_d", F8),
            ("p_query", F4, (PERIOD_WINDOW,)),
            ("p_hist", F4, (layout.period_history,)),
            # phase baselines of the detected period (mean, variance, count per phase bin)
            ("sm", F4, (layout.bins,)),
            ("sv", F4, (layout.bins,)),
            ("sc", F4, (layout.bins,)),
            # autocorrelation pyramid (period detection)
            ("y_acc", F8, (lv,)),
            ("y_half", I4, (lv,)),
            ("y_cnt", I4, (lv,)),
            ("y_mu", F8, (lv,)),
            ("y_var", F8, (lv,)),
            ("y_ring", F4, (lv, PYRAMID_RING)),
            ("y_cov", F4, (lv, PYRAMID_LAG0)),
        ]
    )


CONFIG_DTYPE = np.dtype(
    [
        ("alpha", F8),
        ("fast", F8),
        ("huber", F8),
        ("seasonal_alpha", F8),
        ("window", I8),
        ("agg", I8),
        ("block", I8),
        ("burn", I8),
        ("warmup", I8),
        ("hold", I8),
        ("adopt", F8),
        ("w_range", F8),
        ("w_shift", F8),
        ("w_shape", F8),
        ("w_period", F8),
        ("w_season", F8),
        ("min_acf", F8),
        ("w_channels", F8),
    ]
)
