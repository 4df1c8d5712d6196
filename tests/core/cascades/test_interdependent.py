"""Buldyrev et al. (2010): simulated cascades on two ER networks against the analytic solution."""

from __future__ import annotations

import numpy as np
import pytest

from tocsin.core.cascades.interdependent import (
    analytic_mutual_giant,
    analytic_threshold,
    erdos_renyi_edges,
    simulate_mutual_giant,
    simulated_threshold,
)

N = 100_000
K = 4.0


def test_analytic_solution_matches_the_paper() -> None:
    assert analytic_threshold(K) * K == pytest.approx(2.4554, abs=1e-4)
    assert analytic_mutual_giant(0.7, K) == pytest.approx(0.558, abs=5e-4)
    assert analytic_mutual_giant(0.8, K) == pytest.approx(0.709, abs=5e-4)
    assert analytic_mutual_giant(0.6, K) == 0.0


def test_er_graph_has_the_requested_mean_degree() -> None:
    edges = erdos_renyi_edges(10_000, K, np.random.default_rng(0))
    assert len(edges) == 20_000
    assert len(np.unique(edges, axis=0)) == 20_000
    assert np.all(edges[:, 0] != edges[:, 1])


@pytest.mark.parametrize("p", [0.7, 0.8])
def test_simulated_mutual_giant_component_matches_analytic(p: float) -> None:
    fractions = []
    for seed in (1, 2, 3):
        rng = np.random.default_rng(seed)
        a, b = erdos_renyi_edges(N, K, rng), erdos_renyi_edges(N, K, rng)
        fractions.append(simulate_mutual_giant(a, b, N, p, rng).fraction)
    assert np.mean(fractions) == pytest.approx(analytic_mutual_giant(p, K), abs=0.01)


@pytest.mark.slow
def test_simulated_collapse_threshold_matches_analytic() -> None:
    """Bisection on simulated cascades (N = 100,000, 10 network pairs), not the formula."""
    est = simulated_threshold(
        N, K, seeds=tuple(range(21, 31)), lower=0.58, upper=0.66, resolution=0.0005
    )
    assert est.mean * K == pytest.approx(2.4554, abs=0.01)
    assert est.standard_error * K < 0.005
