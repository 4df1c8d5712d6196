"""``robust_z`` and ``seasonal`` map |z| to |z| / (|z| + z_threshold): 0.5 at the threshold."""

from __future__ import annotations

import numpy as np
import pytest

from tocsin.core.detectors import make_detector


def _spikes(kind: str, heights: list[float]) -> np.ndarray:
    """Scores of spikes of the given heights, each on a fresh copy of one learned noisy series."""
    rng = np.random.default_rng(5)
    base = rng.normal(0.0, 1.0, 400)
    t = np.arange(401, dtype=np.int64) * 3600
    s = np.zeros(401, dtype=np.int64)
    params = {"bins": 24, "warmup": 3} if kind == "seasonal" else {}
    out = []
    for h in heights:
        det = make_detector(kind, **params)
        out.append(det.score_batch(s, t, np.r_[base, h])[-1])
    return np.asarray(out)


@pytest.mark.parametrize("kind", ["robust_z", "seasonal"])
def test_large_deviations_keep_distinct_scores_below_one(kind: str) -> None:
    """Spikes of 20, 50 and 200 noise sds rank in order and none rounds to 1.0."""
    scores = _spikes(kind, [20.0, 50.0, 200.0])
    assert np.all(np.diff(scores) > 0)
    assert scores.max() < 1.0
    assert scores.min() > 0.5


@pytest.mark.parametrize("kind", ["robust_z", "seasonal"])
def test_the_decision_threshold_is_one_half_at_z_threshold(kind: str) -> None:
    """A score of 0.5 is |z| = z_threshold: the threshold splits a spike from the noise."""
    det = make_detector(kind)
    assert det.threshold == 0.5
    scores = _spikes(kind, [0.5, 40.0])
    assert scores[0] < det.threshold <= scores[1]
