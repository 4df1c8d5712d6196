"""The default detector for a group of sensors (``kind: auto_group``): channel and joint evidence.

A group is one series index whose observations are rows of ``d`` values (one pump's sensors, one
substation's feeds). Every channel is watched by ``auto``'s measures on its own; the channels
together by Hotelling's T² and the squared prediction error Q of a principal-component model of
their protected correlation, raw and smoothed (see :mod:`tocsin.core.detectors.group_kernel`).
One decision for the group: an alarm protects every channel's baseline, and a new normal is
adopted by all of them together. Same hyperparameters as ``auto`` (one configuration for all),
same score scale (0.5 = a broken record). :meth:`contributions` names the channels behind a score.

NaN policy: a missing value leaves its channel out of that row (its z counts as 0 in the joint
measures); a row with every value missing scores 0 and is not learnt.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> base = rng.normal(size=(3000, 1))
    >>> x = np.hstack([base, base + 0.1 * rng.normal(size=(3000, 1)), rng.normal(size=(3000, 1))])
    >>> x[2500:2600, 1] -= 2.0 * base[2500:2600, 0]  # channel 1 stops following channel 0
    >>> det = AutoGroupDetector()  # scored up to the end of the break:
    >>> s = det.score_batch(np.zeros(2600, dtype=np.int64), np.arange(2600), x[:2600])
    >>> share = det.contributions([0])[0]  # the broken pair carries it, channel 2 the least
    >>> bool((s[2500:] >= 0.5).mean() > 0.5), int(np.argmin(share)), bool(share[2] < share[0] / 10)
    (True, 2, True)
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from tocsin.core.detectors.arrays import Band, BoolArray, FloatArray, IntArray, StateArrays
from tocsin.core.detectors.auto import AutoDetector
from tocsin.core.detectors.auto_state import F4, F8, I8, state_dtype
from tocsin.core.detectors.base import ArrayDetector, StateField, finite_band
from tocsin.core.detectors.group_kernel import EIG_FIRST, N_JOINT, group_kernel


def joint_dtype(d: int, nblocks: int) -> np.dtype:
    """The record of one group's joint model."""
    return np.dtype(
        [
            ("n", I8),
            ("learned", I8),
            ("alarm", I8),
            ("calm", I8),
            ("k", I8),
            ("since", I8),
            ("zs", F8, (d,)),
            ("cov", F8, (d, d)),
            ("vec", F8, (d, d)),
            ("lam", F8, (d,)),
            ("rec", F4, (N_JOINT, nblocks)),
            ("top", F8, (N_JOINT,)),
            ("a_top", F8, (N_JOINT,)),
            ("contrib", F4, (d,)),
        ]
    )


class AutoGroupDetector(ArrayDetector):
    """``auto`` on every channel of a group plus PCA T²/Q on the group, one protected decision."""

    kind: ClassVar[str] = "auto_group"
    params: ClassVar[tuple[str, ...]] = AutoDetector.params

    def __init__(self, **hyperparameters: Any) -> None:
        """Validate the hyperparameters (those of ``auto``); the width is learnt from data."""
        self.base = AutoDetector(**hyperparameters)
        for name in self.params:
            setattr(self, name, getattr(self.base, name))
        self.warmup = self.base.warmup
        self.dim = 0

    def _fields(self) -> dict[str, StateField]:
        d = self.dim or 1
        chan = state_dtype(self.base.layout())
        return {
            "chan": StateField(chan, (d,)),  # type: ignore[arg-type]
            "joint": StateField(joint_dtype(d, self.base.nblocks)),  # type: ignore[arg-type]
        }

    def _run(self, state: StateArrays, s: IntArray, t: IntArray, v: FloatArray) -> FloatArray:
        scales = np.array(self.base.scales, dtype=np.float64)
        out: FloatArray = group_kernel(
            state["chan"], state["joint"], s, v, self.base.config(), scales
        )
        return out

    def _ready(self, state: StateArrays, s: IntArray) -> BoolArray:
        joint = self.base.burn // 2 + EIG_FIRST  # as group_kernel.group_warmup
        start = max(self.warmup, joint + max(self.warmup - self.base.burn, 0))
        return np.asarray(state["joint"]["n"][s] >= start)

    def _band(self, state: StateArrays, s: IntArray) -> Band:
        """Each channel's remembered [min, max] range, shape (n, d)."""
        chan = state["chan"][s]
        return finite_band(chan["lo"], chan["hi"])

    def contributions(self, series: npt.ArrayLike) -> FloatArray:
        """Each channel's share of the group's last score, shape (n, d) (NaN: never seen)."""
        s = np.asarray(series, dtype=np.int64)
        out = np.full((*s.shape, self._width()), np.nan)
        known = (s >= 0) & (s < self._state.n_series)
        if known.any():
            out[known] = self._state.arrays["joint"]["contrib"][s[known]]
        return out
