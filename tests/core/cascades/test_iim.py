"""The IIM against the published examples of Haimes & Jiang (2001) and Lian & Haimes (2006)."""

from __future__ import annotations

import numpy as np
import pytest

from tocsin.core.cascades.iim import dynamic_inoperability, economic_loss, static_inoperability


def test_haimes_jiang_two_sectors() -> None:
    q = static_inoperability([[0, 0.8], [0.2, 0]], [0, 0.6])
    assert np.round(q, 3).tolist() == [0.571, 0.714]


def test_haimes_jiang_four_sectors_clipped() -> None:
    a = [[0, 0.9, 0, 0], [0.4, 0, 0, 0], [1, 0.8, 0, 0], [1, 0.9, 0, 0]]
    q = static_inoperability(a, [0, 0.5, 0, 0])
    assert np.round(q, 2).tolist() == [0.70, 0.78, 1.0, 1.0]


def test_lian_haimes_static() -> None:
    q = static_inoperability([[0.15, 0.5], [0.1, 0.05]], [0, 0.1])
    assert np.round(q, 3).tolist() == [0.066, 0.112]


def test_lian_haimes_dynamic_converges_to_static() -> None:
    a = [[0.15, 0.5], [0.1, 0.05]]
    run = dynamic_inoperability(a, [0, 0.1], k=[0.2, 0.2], steps=2000)
    assert run.converged
    assert run.final == pytest.approx(static_inoperability(a, [0, 0.1]), abs=1e-9)
    assert np.round(run.final, 3).tolist() == [0.066, 0.112]
    # monotone rise from zero towards equilibrium
    assert np.all(np.diff(run.q[:, 1]) >= -1e-15)


def test_dynamic_time_varying_perturbation_recovers() -> None:
    a = np.array([[0.15, 0.5], [0.1, 0.05]])
    c = np.zeros((200, 2))
    c[:10, 1] = 0.3
    run = dynamic_inoperability(a, c, k=np.diag([0.2, 0.2]), steps=200)
    assert run.q[10, 1] > 0.1
    assert run.final.max() < 1e-6


def test_rejects_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="sectors"):
        static_inoperability(np.eye(2) * 0.1, [0.1, 0.2, 0.3])


def test_economic_loss() -> None:
    assert economic_loss([0.5, 0.25], [100.0, 40.0]) == pytest.approx(60.0)
