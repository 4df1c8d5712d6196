"""Inoperability input-output model (IIM) of interdependent sectors, static and dynamic.

Haimes, Y. Y. & Jiang, P. (2001), "Leontief-based model of risk in complex interconnected
infrastructures", J. Infrastructure Systems 7(1); Lian, C. & Haimes, Y. Y. (2006), "Managing the
risk of terrorism to interdependent infrastructure systems through the dynamic inoperability
input-output model", Systems Engineering 9(3).

`q` is the inoperability of each sector (0 = fully operable, 1 = fully inoperable), `A*` the
interdependency matrix (`A*[i, j]` = inoperability of sector i caused by full inoperability of
sector j) and `c*` the perturbation (demand-side inoperability) of each sector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def _check_square(a: FloatArray, c: FloatArray) -> None:
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"A* must be a square matrix, got shape {a.shape}")
    if c.shape[-1] != a.shape[0]:
        raise ValueError(f"c* has {c.shape[-1]} sectors, A* has {a.shape[0]}")


def static_inoperability(a_star: ArrayLike, c_star: ArrayLike) -> FloatArray:
    """Equilibrium inoperability `q = (I − A*)⁻¹ c*`, clipped to [0, 1] (Haimes & Jiang 2001)."""
    a = np.asarray(a_star, dtype=np.float64)
    c = np.asarray(c_star, dtype=np.float64)
    _check_square(a, c)
    q = np.linalg.solve(np.eye(a.shape[0]) - a, c)
    return np.clip(q, 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class DynamicRun:
    """A trajectory of the dynamic IIM: `q[t]` for t = 0..steps (row 0 is the initial state)."""

    q: FloatArray
    converged: bool

    @property
    def final(self) -> FloatArray:
        """The last state of the trajectory."""
        last: FloatArray = self.q[-1]
        return last


def dynamic_inoperability(
    a_star: ArrayLike,
    c_star: ArrayLike,
    *,
    k: ArrayLike,
    steps: int = 1000,
    q0: ArrayLike | None = None,
    tol: float = 1e-12,
) -> DynamicRun:
    """Dynamic IIM `q(t+1) = q(t) + K(A* q(t) + c*(t) − q(t))`, each step clipped to [0, 1].

    `k` is the resilience matrix K (a vector is taken as its diagonal); `c_star` is either one
    vector (constant perturbation) or a (steps, n) array giving c*(t) per step (Lian & Haimes 2006).
    The run stops early once a constant perturbation has converged (max change below `tol`).
    """
    a = np.asarray(a_star, dtype=np.float64)
    c = np.asarray(c_star, dtype=np.float64)
    _check_square(a, c)
    n = a.shape[0]
    k_arr = np.asarray(k, dtype=np.float64)
    k_mat = np.diag(k_arr) if k_arr.ndim == 1 else k_arr
    if k_mat.shape != (n, n):
        raise ValueError(f"K must be {n}×{n} or a vector of {n}, got shape {k_arr.shape}")
    varying = c.ndim == 2
    if varying and c.shape[0] < steps:
        raise ValueError(f"c*(t) has {c.shape[0]} steps, fewer than steps={steps}")
    q = np.zeros(n) if q0 is None else np.asarray(q0, dtype=np.float64).copy()
    out = [q.copy()]
    converged = False
    for t in range(steps):
        c_t = c[t] if varying else c
        nxt = np.clip(q + k_mat @ (a @ q + c_t - q), 0.0, 1.0)
        out.append(nxt)
        change = float(np.max(np.abs(nxt - q)))
        q = nxt
        if not varying and change < tol:
            converged = True
            break
    return DynamicRun(q=np.vstack(out), converged=converged)


def economic_loss(q: ArrayLike, output: ArrayLike) -> float:
    """Total economic loss `Σ q_i · x_i` for inoperabilities `q` and as-planned outputs `x`."""
    return float(np.dot(np.asarray(q, dtype=np.float64), np.asarray(output, dtype=np.float64)))
