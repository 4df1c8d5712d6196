"""The ``auto`` detector: persistence, a new normal, periods from data, shapes inside the range."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from tocsin.core.detectors import make_detector
from tocsin.core.detectors.auto import AutoDetector
from tocsin.core.detectors.auto_state import state_dtype

F = npt.NDArray[np.float64]


def _score(det: AutoDetector, v: F, spacing: int = 60) -> F:
    t = 1_700_000_000 + spacing * np.arange(v.size, dtype=np.int64)
    return np.asarray(det.score_batch(np.zeros(v.size, dtype=np.int64), t, v), dtype=np.float64)


def _cycle(n: int, period: float, seed: int = 0, noise: float = 0.1) -> F:
    rng = np.random.default_rng(seed)
    out: F = np.sin(2 * np.pi * np.arange(n) / period) + noise * rng.normal(size=n)
    return out


def test_a_persistent_shift_stays_anomalous_and_lifts_when_it_ends() -> None:
    v = _cycle(3000, 50)
    v[2000:2500] += 3.0
    det = AutoDetector()
    t = 1_700_000_000 + 60 * np.arange(v.size, dtype=np.int64)
    s = np.zeros(v.size, dtype=np.int64)
    head = det.score_batch(s[:2400], t[:2400], v[:2400])
    lo, hi = det.expected_range([0])
    # learning is protected: 400 rows into the shift the remembered range is the normal one
    assert -1.6 < lo[0] < -0.9
    assert 0.9 < hi[0] < 1.6
    scores = np.concatenate([head, det.score_batch(s[2400:], t[2400:], v[2400:])])
    assert (scores[2000:2500] >= 0.5).all()
    # it lifts once the slowest smoothed copy (about 64 rows) has come back
    assert (scores[2700:] < 0.5).mean() > 0.98


def test_a_permanent_change_becomes_the_new_normal_after_the_history_length() -> None:
    v = _cycle(5000, 50)
    v[1000:] += 4.0
    scores = _score(AutoDetector(adopt=1.0), v)
    assert (scores[1000:1900] >= 0.5).all()  # 900 rows later still raised: not silently learnt
    assert (scores[2300:] < 0.5).mean() > 0.98  # adopted after about 1000 rows in alarm
    default = _score(AutoDetector(), v)  # adopt = 4: four times the history
    assert (default[1000:4900] >= 0.5).all()


def test_the_period_is_found_from_the_data_and_timestamps_do_not_matter() -> None:
    v = _cycle(6000, 48, noise=0.2)
    v[5000] += 3.0
    minute, hour = AutoDetector(), AutoDetector()
    a, b = _score(minute, v, spacing=60), _score(hour, v, spacing=3600)
    assert np.array_equal(a, b)
    assert minute.periods([0])[0] == pytest.approx(48, abs=3)
    assert a[5000] >= 0.5


@pytest.mark.parametrize("kind", ["noise", "walk"])
def test_no_period_where_there_is_no_cycle(kind: str) -> None:
    rng = np.random.default_rng(4)
    v = rng.normal(size=8000)
    if kind == "walk":
        v = np.cumsum(v)
    det = AutoDetector()
    _score(det, v)
    assert det.periods([0])[0] == 0.0


def test_a_shape_change_inside_the_range_ranks_highest() -> None:
    v = _cycle(12000, 40, seed=2, noise=0.05)
    t = np.arange(40)
    v[9000:9040] = np.sin(2 * np.pi * t / 20) + 0.05 * np.random.default_rng(3).normal(size=40)
    det = AutoDetector()
    scores = _score(det, v)
    top = 4000 + int(np.argmax(scores[4000:]))
    assert 9000 - 100 <= top <= 9040 + 100
    assert scores[top] >= 0.5


def test_scores_stay_comparable_along_a_series() -> None:
    """Scores do not saturate: a bigger spike scores higher than a smaller one later on."""
    v = _cycle(4000, 50)
    v[2000] += 5.0
    v[3000] += 50.0
    scores = _score(AutoDetector(), v)
    assert 0.5 <= scores[2000] < scores[3000] < 1.0


def test_the_state_of_a_series_fits_in_4_kb() -> None:
    det = AutoDetector()
    assert state_dtype(det.layout()).itemsize <= 4096
    _score(det, _cycle(1000, 30))
    assert sum(np.asarray(a).nbytes for a in det._state.export().values()) <= 4096


def test_the_measure_behind_a_score_is_named() -> None:
    v = _cycle(2000, 50)
    v[1500] += 8.0
    det = AutoDetector()
    _score(det, v[:1501])
    spike, unseen = det.measure([0, 7])
    assert spike in ("range", "season")
    assert unseen == ""


@pytest.mark.parametrize(
    "params",
    [
        {"alpha": 0.0},
        {"weights": (1.0, 1.0)},
        {"weights": (1.0, -1.0, 1.0, 1.0, 1.0)},
        {"scales": (0.0,)},
        {"history": 4, "window": 6},
        {"burn": -1},
        {"hold": 0},
        {"min_acf": 1.5},
    ],
)
def test_invalid_hyperparameters_are_refused(params: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"must|needs|history"):
        make_detector("auto", **params)
