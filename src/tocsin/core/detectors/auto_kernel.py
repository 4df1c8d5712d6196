"""The compiled loop of ``auto``: evidence, the protected alarm state, learning, a new normal.

One observation goes through four steps (see :mod:`tocsin.core.detectors.auto` for the why):

1. **evidence** — each measure's value divided by its record over the memory (the largest value
   it took on learnt rows), times its weight; ``r`` is the largest ratio (1 = a record broken);
2. **alarm state** — once warm, ``r >= 1`` starts or continues an alarm; it ends after ``hold``
   consecutive calm rows;
3. **learning** — only outside an alarm: the baseline, the memory of ranges and records, the
   window histories and the phase baselines never absorb an anomaly (the autocorrelation
   pyramid that detects the period follows the series always);
4. **a new normal** — an alarm that has lasted ``adopt`` times as long as the rows learnt so far
   (and at least the warm-up) is a permanent change: the baseline moves to the current level and
   the remembered range restarts from the range seen during the alarm.

The score is ``r / (1 + r)``: 0.5 at the decision threshold, increasing, never saturating.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from tocsin.core.detectors.auto_state import (
    N_REC,
    REC_PERIOD,
    REC_SEASON,
    REC_SHAPE,
    REC_SHIFT,
)
from tocsin.core.detectors.kernels import ewm_step, scale_floor
from tocsin.core.detectors.shapes import (
    detected_period,
    nearest_window,
    pyramid_step,
    shift_in,
)

PERIOD_CHECK = 64  # observations between two looks for a period


@njit(cache=True, inline="always")
def _start(st, x):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Set every field for a series whose first observation is x."""
    st.n = 0
    st.learned = 0
    st.alarm = 0
    st.calm = 0
    st.comp = 0
    st.m = x
    st.v = 0.0
    st.f = x
    st.ref = x
    st.e[:] = x
    _forget_ranges(st)
    st.rec[:, :] = -np.inf
    st.top[:] = -np.inf
    st.s_acc = 0.0
    st.s_cnt = 0
    st.s_fill = 0
    st.s_new = 0
    st.s_d = -1.0
    st.s_query[:] = 0.0
    st.s_hist[:] = 0.0
    st.y_acc[:] = 0.0
    st.y_half[:] = 0
    st.y_cnt[:] = 0
    st.y_mu[:] = 0.0
    st.y_var[:] = 0.0
    st.y_ring[:, :] = 0.0
    st.y_cov[:, :] = 0.0
    st.p_cand = 0.0
    _set_period(st, 0.0)


@njit(cache=True, inline="always")
def _forget_ranges(st):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Empty the remembered value ranges (raw and smoothed)."""
    st.bmax[:] = -np.inf
    st.bmin[:] = np.inf
    st.emax[:, :] = -np.inf
    st.emin[:, :] = np.inf
    st.hi = -np.inf
    st.lo = np.inf
    st.ehi[:] = -np.inf
    st.elo[:] = np.inf


@njit(cache=True, inline="always")
def _set_period(st, period):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Adopt a detected period: the period-matched means start over."""
    st.period = period
    st.p_since = 0
    st.p_dec = max(1, round(period / st.p_query.shape[0])) if period > 0 else 0
    st.p_acc = 0.0
    st.p_cnt = 0
    st.p_fill = 0
    st.p_new = 0
    st.p_d = -1.0
    st.p_query[:] = 0.0
    st.p_hist[:] = 0.0
    st.sm[:] = 0.0
    st.sv[:] = 0.0
    st.sc[:] = 0.0
    for c in (REC_PERIOD, REC_SEASON):
        st.rec[c, :] = -np.inf
        st.top[c] = -np.inf


@njit(cache=True, inline="always")
def young(k, memory):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """How much a record of ``k`` values understates one of ``memory`` values.

    The largest of k draws of a light-tailed (Gaussian-like) variable grows as sqrt(2 ln k)
    (extreme-value theory, e.g. Embrechts, Klüppelberg & Mikosch 1997, §3.3), so a record from a
    short history is scaled by sqrt(ln memory / ln k): a young series is not alarmed by every
    new record of its first few hundred values. 1 once the memory is full.
    """
    if k >= memory:
        return 1.0
    return math.sqrt(math.log(memory) / math.log(max(k, 3.0)))


@njit(cache=True, inline="always")
def _range_ratio(x, lo, hi, floor, grow, weight):  # type: ignore[no-untyped-def]  # pragma: no cover
    """``weight * (1 + |x - mid| / half) / 2`` against the range [lo, hi], its half-width grown by
    ``grow`` (and at least ``floor``); 0 if the range is empty."""
    if hi < lo:
        return 0.0
    mid = 0.5 * (hi + lo)
    half = max(0.5 * (hi - lo) * grow, floor, 1e-9 + 1e-9 * abs(mid))
    return weight * 0.5 * (1.0 + abs(x - mid) / half)


@njit(cache=True, inline="always")
def _windows(st, y, c):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Feed the piecewise means; recompute a discord when a new mean completes its window."""
    st.s_acc += y
    st.s_cnt += 1
    if st.s_cnt == c.agg:
        shift_in(st.s_query, st.s_acc / c.agg)
        st.s_acc = 0.0
        st.s_cnt = 0
        st.s_new = 1
        st.s_d = nearest_window(st.s_query, st.s_hist, st.s_fill, False)
    if st.p_dec > 0:
        st.p_acc += y
        st.p_cnt += 1
        if st.p_cnt == st.p_dec:
            shift_in(st.p_query, st.p_acc / st.p_dec)
            st.p_acc = 0.0
            st.p_cnt = 0
            st.p_new = 1
            st.p_d = nearest_window(st.p_query, st.p_hist, st.p_fill, True)


@njit(cache=True, inline="always")
def _evidence(st, x, y, c, scales, ev):  # type: ignore[no-untyped-def]  # pragma: no cover
    """The largest ratio of evidence to record, the largest of the level measures (range, shift,
    season: these protect the baseline) and which measure gave the first; fills ``ev``."""
    # the fast EWMA and the smoothed copies see the value clipped to the remembered range: a value
    # beyond it is the raw range rule's news, and must not linger in the slower measures
    xc = min(max(x, st.lo), st.hi) if st.hi >= st.lo else x
    st.f += c.fast * (xc - st.f)
    memory = c.block * st.bmax.shape[0]
    grow = young(st.learned, memory)
    best = _range_ratio(x, st.lo, st.hi, 0.0, grow, c.w_range)
    width = st.hi - st.lo if st.hi >= st.lo else 0.0
    grow_e = young(st.learned - c.burn, memory)
    for j in range(scales.shape[0]):
        st.e[j] += scales[j] * (xc - st.e[j])
        if st.learned >= c.burn:
            # one value inside the raw range moves a copy by up to scale * width: no news
            floor = scales[j] * width
            ratio = _range_ratio(st.e[j], st.elo[j], st.ehi[j], floor, grow_e, c.w_range)
            best = max(best, ratio)
    sd = scale_floor(st.v, st.m)
    _windows(st, y, c)
    ev[REC_SHIFT] = abs(st.f - st.m) / sd
    ev[REC_SHAPE] = st.s_d
    ev[REC_PERIOD] = st.p_d if st.p_dec > 0 else -1.0
    ev[REC_SEASON] = -1.0
    if st.p_dec > 0:
        b = _phase_bin(st)
        if st.sc[b] >= 3:
            ssd = max(math.sqrt(max(st.sv[b], 0.0)), 0.1 * sd)
            ev[REC_SEASON] = abs(y - st.sm[b]) / ssd
    weights = (c.w_shift, c.w_shape, c.w_period, c.w_season)
    level = best
    comp = 0
    seasoned = st.p_since >= max(c.burn, 2 * st.period)
    for k in range(N_REC):
        if k >= REC_PERIOD and not seasoned:
            continue
        if ev[k] >= 0.0 and st.top[k] > 0.0:
            history = st.learned - c.burn if k < REC_PERIOD else st.p_since
            ratio = weights[k] * ev[k] / (st.top[k] * young(history, memory))
            if k == REC_SHIFT:
                level = max(level, ratio)
            if ratio > best:
                best = ratio
                comp = k + 1
    return best, level, comp


@njit(cache=True, inline="always")
def _phase_bin(st):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """The phase bin of the current observation within the detected period (row count)."""
    bins = st.sm.shape[0]
    return min(int((st.n % st.period) * bins / st.period), bins - 1)


@njit(cache=True, inline="always")
def _learn_phase(st, y, sd, c):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Huber-clipped EWMA mean and variance of the current phase bin (Winters 1960, robust)."""
    b = _phase_bin(st)
    if st.sc[b] == 0:
        st.sm[b] = y
    else:
        ssd = max(math.sqrt(max(st.sv[b], 0.0)), 0.1 * sd)
        zz = (y - st.sm[b]) / ssd
        r = max(-c.huber, min(c.huber, zz)) * ssd if st.sc[b] >= 3 else y - st.sm[b]
        st.sm[b], st.sv[b] = ewm_step(st.sm[b], st.sv[b], c.seasonal_alpha, r)
    st.sc[b] = min(st.sc[b] + 1.0, 1e6)


@njit(cache=True, inline="always")
def _refresh_tops(st):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Recompute the maxima over the memory blocks (after a block expired)."""
    st.hi = st.bmax.max() + st.ref
    st.lo = st.bmin.min() + st.ref
    for j in range(st.e.shape[0]):
        st.ehi[j] = st.emax[j].max() + st.ref
        st.elo[j] = st.emin[j].min() + st.ref
    for k in range(N_REC):
        st.top[k] = st.rec[k].max()


@njit(cache=True, inline="always")
def _remember(st, x, c, ev):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Write the learnt row into the current memory block (a new block every ``block`` rows)."""
    nblocks = st.bmax.shape[0]
    slot = (st.learned // c.block) % nblocks
    if st.learned % c.block == 0 and st.learned > 0:
        st.bmax[slot] = -np.inf
        st.bmin[slot] = np.inf
        st.emax[:, slot] = -np.inf
        st.emin[:, slot] = np.inf
        st.rec[:, slot] = -np.inf
        _refresh_tops(st)
    st.bmax[slot] = max(st.bmax[slot], x - st.ref)
    st.bmin[slot] = min(st.bmin[slot], x - st.ref)
    st.hi = max(st.hi, x)
    st.lo = min(st.lo, x)
    for j in range(st.e.shape[0]):
        e = st.e[j]
        st.emax[j, slot] = max(st.emax[j, slot], e - st.ref)
        st.emin[j, slot] = min(st.emin[j, slot], e - st.ref)
        st.ehi[j] = max(st.ehi[j], e)
        st.elo[j] = min(st.elo[j], e)
    if st.learned >= c.burn:
        for k in range(N_REC):
            if ev[k] >= 0.0:
                st.rec[k, slot] = max(st.rec[k, slot], ev[k])
                st.top[k] = max(st.top[k], ev[k])


@njit(cache=True, inline="always")
def _learn_windows(st, in_alarm):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Append a completed mean to its window history; during an alarm only a mean inside the
    remembered range (a pattern of normal values, not the anomalous level)."""
    if st.s_new == 1:
        mean = st.s_query[st.s_query.shape[0] - 1] + st.ref
        if not in_alarm or st.lo <= mean <= st.hi:
            shift_in(st.s_hist, st.s_query[st.s_query.shape[0] - 1])
            st.s_fill += 1
    if st.p_new == 1:
        mean = st.p_query[st.p_query.shape[0] - 1] + st.ref
        if not in_alarm or st.lo <= mean <= st.hi:
            shift_in(st.p_hist, st.p_query[st.p_query.shape[0] - 1])
            st.p_fill += 1


@njit(cache=True, inline="always")
def _learn(st, x, c, ev):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Learn a normal row: the robust baseline, the memory of ranges and records, the window
    histories, the phase baselines."""
    sd = scale_floor(st.v, st.m)
    a = max(c.alpha, 1.0 / (st.learned + 1.0))
    r = max(-c.huber, min(c.huber, (x - st.m) / sd)) * sd if st.learned > 30 else x - st.m
    st.m, st.v = ewm_step(st.m, st.v, a, r)
    _remember(st, x, c, ev)
    _learn_windows(st, False)
    if st.p_dec > 0:
        _learn_phase(st, x - st.ref, sd, c)
        st.p_since += 1
    st.learned += 1


@njit(cache=True, inline="always")
def _track_alarm(st, x, ev):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Widen the raw range and records seen during the current alarm, follow its level."""
    if st.alarm == 1:
        st.a_hi = x
        st.a_lo = x
        st.a_ehi[:] = st.e
        st.a_elo[:] = st.e
        st.a_top[:] = -np.inf
        st.a_m = x
    st.a_m += max(1.0 / st.alarm, 1.0 / 64.0) * (x - st.a_m)
    st.a_hi = max(st.a_hi, x)
    st.a_lo = min(st.a_lo, x)
    for j in range(st.e.shape[0]):
        st.a_ehi[j] = max(st.a_ehi[j], st.e[j])
        st.a_elo[j] = min(st.a_elo[j], st.e[j])
    for k in range(N_REC):
        st.a_top[k] = max(st.a_top[k], ev[k])


@njit(cache=True, inline="always")
def _merge_alarm(st, c):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """An alarm is over: the ranges and records it reached join the memory (a repeat is news only
    if it is worse)."""
    slot = (st.learned // c.block) % st.bmax.shape[0]
    st.bmax[slot] = max(st.bmax[slot], st.a_hi - st.ref)
    st.bmin[slot] = min(st.bmin[slot], st.a_lo - st.ref)
    st.hi = max(st.hi, st.a_hi)
    st.lo = min(st.lo, st.a_lo)
    for j in range(st.e.shape[0]):
        st.emax[j, slot] = max(st.emax[j, slot], st.a_ehi[j] - st.ref)
        st.emin[j, slot] = min(st.emin[j, slot], st.a_elo[j] - st.ref)
        st.ehi[j] = max(st.ehi[j], st.a_ehi[j])
        st.elo[j] = min(st.elo[j], st.a_elo[j])
    if st.learned >= c.burn:
        for k in range(N_REC):
            if st.a_top[k] >= 0.0:
                st.rec[k, slot] = max(st.rec[k, slot], st.a_top[k])
                st.top[k] = max(st.top[k], st.a_top[k])


@njit(cache=True, inline="always")
def _adopt(st, c):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """A new normal: the baseline moves to the level of the alarm (an EWMA over its last 64 rows),
    the range memory restarts from the range seen during it, the phase baselines start over; the
    records and the shape histories are kept."""
    st.m = st.a_m
    st.f = st.a_m
    st.e[:] = st.a_m
    _forget_ranges(st)
    slot = (st.learned // c.block) % st.bmax.shape[0]
    st.bmax[slot] = st.a_hi - st.ref
    st.bmin[slot] = st.a_lo - st.ref
    for j in range(st.e.shape[0]):  # the smoothed copies saw clipped values: take the raw range
        st.emax[j, slot] = st.a_hi - st.ref
        st.emin[j, slot] = st.a_lo - st.ref
    _refresh_tops(st)
    st.sm[:] = 0.0  # the phase baselines start over at the new level
    st.sv[:] = 0.0
    st.sc[:] = 0.0
    st.alarm = 0
    st.calm = 0


@njit(cache=True, inline="always")
def observe(st, x, c, scales, ev):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Evidence for one observation (before learning): (ratio, level ratio, measure index).

    Also advances what follows the series always: the smoothed copies, the window histories and
    the autocorrelation pyramid (with a look for a period every ``PERIOD_CHECK`` observations).
    """
    if st.n == 0:
        _start(st, x)
    y = x - st.ref
    r, level, comp = _evidence(st, x, y, c, scales, ev)
    pyramid_step(st, y)
    if st.n % PERIOD_CHECK == 0 and st.n > 0:
        # a new period (or none) is taken when two looks in a row agree
        period = detected_period(st, c.min_acf)
        if abs(period - st.period) > 0.1 * st.period and period == st.p_cand:
            _set_period(st, period)
        st.p_cand = period
    return r, level, comp


@njit(cache=True, inline="always")
def alarm_step(st, level, c):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Advance the alarm counters of ``st`` with a level ratio; True when an alarm just ended."""
    if level >= 1.0:
        st.alarm += 1
        st.calm = 0
    elif st.alarm > 0:
        st.calm += 1
        if st.calm >= c.hold:
            st.alarm = 0
            return True
        st.alarm += 1
    return False


@njit(cache=True, inline="always")
def due_for_adoption(st, c):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Whether the current alarm has lasted long enough to be a new normal: ``adopt`` times the
    normal history it is judged against (the rows learnt, at most the memory), at least the
    warm-up."""
    memory = min(st.learned, c.block * st.rec.shape[1])
    return st.alarm > 0 and st.alarm >= max(c.warmup, c.adopt * memory)


@njit(cache=True, inline="always")
def settle(st, x, c, ev, ended, adopt):  # type: ignore[no-untyped-def]  # pragma: no cover
    """After the decision: learn a normal row, or keep the alarm's ranges, or adopt them."""
    if ended:
        _merge_alarm(st, c)
    if st.alarm == 0:
        _learn(st, x, c, ev)
    else:
        _track_alarm(st, x, ev)
        _learn_windows(st, True)
        if adopt:
            _adopt(st, c)
    st.s_new = 0
    st.p_new = 0
    st.n += 1


@njit(cache=True, inline="always")
def _step(st, x, c, scales, ev):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Score one observation, update the alarm state, learn it if normal; returns the score."""
    r, level, comp = observe(st, x, c, scales, ev)
    scoring = st.n >= c.warmup
    ended = alarm_step(st, level, c) if scoring else False
    settle(st, x, c, ev, ended, due_for_adoption(st, c))
    if not scoring:
        return 0.0
    st.comp = comp
    return r / (1.0 + r)


@njit(cache=True)
def auto_kernel(state, series, values, cfg, scales):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Score then learn each observation of a batch, in order; NaN scores 0 and is not learnt."""
    c = cfg[0]
    out = np.zeros(values.shape[0])
    ev = np.zeros(N_REC)
    for i in range(values.shape[0]):
        x = values[i]
        if math.isnan(x):
            continue
        out[i] = _step(state[series[i]], x, c, scales, ev)
    return out
