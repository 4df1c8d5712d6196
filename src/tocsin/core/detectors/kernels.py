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
