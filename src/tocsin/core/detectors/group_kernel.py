"""The compiled loop of ``auto_group``: per-channel evidence and joint PCA evidence, one decision.

Each row of a group of ``d`` sensors is scored in three steps:

1. **per channel** — every channel runs ``auto``'s evidence on its own value (its own protected
   baseline, ranges, shapes and period); the strongest channel ratio ``M`` (and the strongest of
   the level measures) becomes a group measure with its own record, so a group of many channels is
   not more alarm-prone than a single one (the record of the maximum absorbs the multiple tests);
2. **joint** — the channels standardised by their own baselines, ``z``, are projected on the
   principal components of their protected correlation (refreshed every ``EIG_EVERY`` learnt
   rows): Hotelling's T² in the components that hold ``VARIANCE`` of the variance, and the squared
   prediction error Q outside them (Jackson & Mudholkar 1979; MacGregor & Kourti 1995, *Statistical
   process control of multivariate processes*), on ``z`` and on an EWMA of ``z`` (a MEWMA-like
   smoothing, Lowry, Woodall, Champ & Rigdon 1992) — each against its record;
3. **decision and learning** — the group's level ratio starts or continues one alarm for the whole
   group; nothing of the group is learnt during it; a new normal is adopted for all channels.

The explanation keeps, per channel, its share of the last row's evidence: its own ratio or its
part of Q (the squared residual of its standardised value), whichever is larger.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from tocsin.core.detectors.auto_kernel import alarm_step, due_for_adoption, observe, settle, young
from tocsin.core.detectors.auto_state import N_REC
from tocsin.core.detectors.kernels import scale_floor

J_T2, J_Q, J_T2S, J_QS, J_ANY, J_LEVEL = 0, 1, 2, 3, 4, 5
N_JOINT = 6
EIG_EVERY = 64  # learnt rows between two eigendecompositions
EIG_FIRST = 16  # learnt rows of covariance before the first one


@njit(cache=True, inline="always")
def joint_start(c):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Learnt rows before the joint model exists: the channel baselines settle for burn / 2 rows,
    the covariance gathers EIG_FIRST rows before the first eigendecomposition."""
    return c.burn // 2 + EIG_FIRST


@njit(cache=True, inline="always")
def group_warmup(c):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Observations before a group scores: the warm-up, and at least the head start the channel
    records get (warmup - burn rows) after the joint records begin."""
    return max(c.warmup, joint_start(c) + max(c.warmup - c.burn, 0))


VARIANCE = 0.9  # share of the variance the T² components hold
SMOOTH = 1.0 / 8.0  # EWMA factor of the smoothed standardised vector
Z_MAX = 20.0  # |z| and channel ratios are capped here: a near-constant channel that moves must
# not set records so high that the group goes deaf for the whole memory


@njit(cache=True, inline="always")
def _standardise(chan, g, row, z):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """z of each channel against its own baseline (0 for a missing value)."""
    for j in range(row.shape[0]):
        st = chan[g, j]
        x = row[j]
        if math.isnan(x) or st.n == 0:
            z[j] = 0.0
        else:
            z[j] = max(-Z_MAX, min(Z_MAX, (x - st.m) / scale_floor(st.v, st.m)))


@njit(cache=True, inline="always")
def _t2_q(gs, z):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Hotelling's T² and Q of ``z`` in the group's current components."""
    total = 0.0
    for j in range(z.shape[0]):
        total += z[j] * z[j]
    t2 = 0.0
    explained = 0.0
    for i in range(gs.k):
        p = 0.0
        for j in range(z.shape[0]):
            p += gs.vec[j, i] * z[j]
        t2 += p * p / gs.lam[i]
        explained += p * p
    return t2, max(total - explained, 0.0)


@njit(cache=True, inline="always")
def _refresh_components(gs):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Eigendecompose the protected covariance; keep the components holding ``VARIANCE``."""
    d = gs.cov.shape[0]
    lam, vec = np.linalg.eigh(gs.cov)
    total = max(lam.sum(), 1e-12)
    floor = 1e-6 * total / d
    acc = 0.0
    k = 0
    for i in range(d - 1, -1, -1):  # eigh sorts ascending
        gs.vec[:, d - 1 - i] = vec[:, i]
        gs.lam[d - 1 - i] = max(lam[i], floor)
    for i in range(d):
        if acc >= VARIANCE * total or k >= d - 1:
            break
        acc += gs.lam[i]
        k += 1
    gs.k = max(k, 1)


@njit(cache=True, inline="always")
def _group_evidence(gs, jev, c):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """(ratio, level ratio) of the group measures against their records."""
    best = 0.0
    level = 0.0
    if gs.learned < joint_start(c):
        return best, level
    grow = young(gs.learned - joint_start(c), c.block * gs.rec.shape[1])
    for k in range(N_JOINT):
        if jev[k] >= 0.0 and gs.top[k] > 0.0:
            weight = c.w_channels if k >= J_ANY else 1.0
            ratio = weight * jev[k] / (gs.top[k] * grow)
            best = max(best, ratio)
            if k != J_ANY:
                level = max(level, ratio)
    return best, level


@njit(cache=True, inline="always")
def _group_learn(gs, z, jev, c):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Learn a normal row: the covariance of z (once the channel baselines have settled, after
    ``burn / 2`` rows; each z clipped at ``2 * huber``), the records (blocks of ``block`` rows)."""
    settled = c.burn // 2
    if gs.learned >= settled:
        a = max(c.alpha, 1.0 / (gs.learned - settled + 1.0))
        lim = 2.0 * c.huber
        for i in range(z.shape[0]):
            zi = max(-lim, min(lim, z[i]))
            for j in range(z.shape[0]):
                zj = max(-lim, min(lim, z[j]))
                gs.cov[i, j] = (1.0 - a) * gs.cov[i, j] + a * zi * zj
    nblocks = gs.rec.shape[1]
    slot = (gs.learned // c.block) % nblocks
    if gs.learned % c.block == 0 and gs.learned > 0:
        gs.rec[:, slot] = -np.inf
        for k in range(N_JOINT):
            gs.top[k] = gs.rec[k].max()
    if gs.learned >= joint_start(c):
        for k in range(N_JOINT):
            gs.rec[k, slot] = max(gs.rec[k, slot], jev[k])
            gs.top[k] = max(gs.top[k], jev[k])
    gs.learned += 1
    if gs.learned > settled:
        gs.since += 1
    if gs.since >= (EIG_FIRST if gs.k == 0 else EIG_EVERY):
        _refresh_components(gs)
        gs.since = 0


@njit(cache=True, inline="always")
def _group_alarm(gs, jev, ended, c):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Keep the records reached during an alarm; merge them once it is over."""
    if ended:
        slot = (gs.learned // c.block) % gs.rec.shape[1]
        for k in range(N_JOINT):
            if gs.a_top[k] >= 0.0:
                gs.rec[k, slot] = max(gs.rec[k, slot], gs.a_top[k])
                gs.top[k] = max(gs.top[k], gs.a_top[k])
    if gs.alarm == 1:
        gs.a_top[:] = -1.0
    if gs.alarm > 0:
        for k in range(N_JOINT):
            gs.a_top[k] = max(gs.a_top[k], jev[k])


@njit(cache=True, inline="always")
def _explain(gs, z, ratios, t2q):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Per-channel share of the evidence: own ratio, or its part of Q scaled to Q's ratio."""
    d = z.shape[0]
    recon = np.zeros(d)
    for i in range(gs.k):
        p = 0.0
        for j in range(d):
            p += gs.vec[j, i] * z[j]
        for j in range(d):
            recon[j] += p * gs.vec[j, i]
    q = 0.0
    for j in range(d):
        q += (z[j] - recon[j]) ** 2
    for j in range(d):
        share = (z[j] - recon[j]) ** 2 / q * t2q if q > 0.0 else 0.0
        gs.contrib[j] = max(ratios[j], share)


@njit(cache=True)
def group_kernel(chan, joint, series, values, cfg, scales):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Score then learn each row (n, d) of a batch of groups; an all-NaN row scores 0."""
    c = cfg[0]
    n, d = values.shape
    out = np.zeros(n)
    ev = np.zeros((d, N_REC))
    jev = np.zeros(N_JOINT)
    z = np.zeros(d)
    ratios = np.zeros(d)
    for i in range(n):
        g = series[i]
        row = values[i]
        gs = joint[g]
        if np.isnan(row).all():
            continue
        _standardise(chan, g, row, z)
        jev[J_ANY] = 0.0
        jev[J_LEVEL] = 0.0
        for j in range(d):
            ratios[j] = 0.0
            if not math.isnan(row[j]):
                r, lv, _ = observe(chan[g, j], row[j], c, scales, ev[j])
                ratios[j] = r
                jev[J_ANY] = max(jev[J_ANY], min(r, Z_MAX))
                jev[J_LEVEL] = max(jev[J_LEVEL], min(lv, Z_MAX))
        for j in range(d):
            gs.zs[j] += SMOOTH * (z[j] - gs.zs[j])
        ready = gs.k > 0
        jev[J_T2], jev[J_Q] = _t2_q(gs, z) if ready else (-1.0, -1.0)
        jev[J_T2S], jev[J_QS] = _t2_q(gs, gs.zs) if ready else (-1.0, -1.0)
        r, level = _group_evidence(gs, jev, c)
        scoring = gs.n >= group_warmup(c)
        ended = alarm_step(gs, level, c) if scoring else False
        adopt = due_for_adoption(gs, c)
        for j in range(d):
            st = chan[g, j]
            if not math.isnan(row[j]):
                st.alarm = gs.alarm
                st.calm = gs.calm
                settle(st, row[j], c, ev[j], ended, adopt)
        if gs.learned >= joint_start(c):
            _group_alarm(gs, jev, ended, c)
        if gs.alarm == 0:
            _group_learn(gs, z, jev, c)
        elif adopt:
            gs.alarm = 0
            gs.calm = 0
        gs.n += 1
        if scoring:
            _explain(gs, z, ratios, r if jev[J_Q] < 0.0 else jev[J_Q] / max(gs.top[J_Q], 1e-12))
            out[i] = r / (1.0 + r)
    return out
