"""Compiled building blocks shared by detectors: score maps and robust running moments."""

from __future__ import annotations

import math

from numba import njit

SQRT2 = math.sqrt(2.0)


@njit(cache=True, inline="always")
def z_score_to_unit(z: float) -> float:  # pragma: no cover - compiled
    """Two-sided Gaussian probability mass within |z|: erf(|z| / sqrt 2), in [0, 1]."""
    return math.erf(abs(z) / SQRT2)


@njit(cache=True, inline="always")
def z_ratio_score(z: float, z_threshold: float) -> float:  # pragma: no cover - compiled
    """|z| / (|z| + z_threshold): 0.5 at the threshold, strictly increasing, never exactly 1.

    Unlike erf(|z|/√2), which rounds to 1.0 beyond |z| ≈ 8.3, large deviations keep distinct
    scores (a threshold sweep such as NAB's can rank them); the inverse is
    ``|z| = z_threshold * s / (1 - s)``. An infinite |z| scores 1.
    """
    a = abs(z)
    if a == math.inf:
        return 1.0
    return a / (a + z_threshold)


@njit(cache=True, inline="always")
def scale_floor(var: float, mean: float) -> float:  # pragma: no cover - compiled
    """A standard deviation that is never zero (relative floor for near-constant series)."""
    sd = math.sqrt(var) if var > 0.0 else 0.0
    floor = 1e-9 + 1e-6 * abs(mean)
    return sd if sd > floor else floor


@njit(cache=True, inline="always")
def ewm_step(  # pragma: no cover - compiled
    mean: float, var: float, a: float, r: float
) -> tuple[float, float]:
    """One exponentially weighted step of a mean and variance by the residual ``r``, weight ``a``:
    ``(mean + a r, (1 - a) (var + a r²))``."""
    return mean + a * r, (1.0 - a) * (var + a * r * r)


@njit(cache=True, inline="always")
def huber_residual(  # pragma: no cover - compiled
    z: float, sd: float, huber: float, warm: bool
) -> float:
    """The residual ``z * sd`` with z clipped to [-huber, huber] once ``warm``; during warm-up the
    clip is wide (1e6) so the scale can grow from zero."""
    c = huber if warm else 1e6
    return max(-c, min(c, z)) * sd
