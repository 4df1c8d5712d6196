"""``auto_group``: joint and per-channel evidence, one protected decision, channels named."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from tocsin.core.detectors import make_detector
from tocsin.core.detectors.group import AutoGroupDetector

F = npt.NDArray[np.float64]


def _sensors(n: int, seed: int = 0) -> F:
    """Three sensors: two follow one driver closely, the third is independent."""
    rng = np.random.default_rng(seed)
    driver = np.sin(np.arange(n) / 30.0)[:, None] + 0.3 * rng.normal(size=(n, 1))
    return np.hstack([driver, driver + 0.05 * rng.normal(size=(n, 1)), rng.normal(size=(n, 1))])


def _score(det: AutoGroupDetector, x: F) -> F:
    t = 1_700_000_000 + np.arange(x.shape[0], dtype=np.int64)
    return np.asarray(det.score_batch(np.zeros(x.shape[0], dtype=np.int64), t, x))


def test_a_broken_correlation_is_found_and_the_channel_named() -> None:
    x = _sensors(3000)
    x[2500:2600, 1] = -x[2500:2600, 0]  # each value ordinary, the relation is not
    det = AutoGroupDetector()
    scores = _score(det, x[:2550])
    assert (scores[2500:2550] >= 0.5).mean() > 0.8
    assert (scores[500:2500] >= 0.5).mean() < 0.05
    share = det.contributions([0])[0]
    assert int(np.argmax(share)) in (0, 1)
    assert share[2] < 1.0


def test_a_persistent_fault_on_one_sensor_keeps_the_group_alarmed() -> None:
    x = _sensors(4000, seed=1)
    x[3000:3400, 2] += 6.0
    scores = _score(AutoGroupDetector(), x)
    assert (scores[3000:3400] >= 0.5).all()
    assert (scores[3600:] < 0.5).mean() > 0.95


def test_missing_values_leave_a_channel_out_and_an_empty_row_scores_zero() -> None:
    x = _sensors(1000, seed=2)
    x[700, 1] = np.nan
    x[800] = np.nan
    det = AutoGroupDetector()
    scores = _score(det, x)
    assert np.isfinite(scores).all()
    assert scores[800] == 0.0


def test_the_width_is_fixed_by_the_first_batch() -> None:
    det = AutoGroupDetector()
    det.score_batch(np.zeros(3, dtype=np.int64), np.arange(3), np.ones((3, 4)))
    with pytest.raises(ValueError, match="groups of 4"):
        det.score_batch(np.zeros(1, dtype=np.int64), np.arange(1), np.ones((1, 3)))
    assert det.contributions([0]).shape == (1, 4)
    assert np.isnan(det.contributions([5])).all()


def test_hyperparameters_are_those_of_auto() -> None:
    det = make_detector("auto_group", warmup=120, adopt=2.0)
    assert det.get_params()["warmup"] == 120
    with pytest.raises(ValueError, match="w_channels"):
        make_detector("auto_group", w_channels=2.0)
