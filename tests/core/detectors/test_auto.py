"""The ``auto`` detector's multi-scale range rule."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from tocsin.core.detectors import make_detector

RANGE_ONLY = (0.97, 0.0, 0.0, 0.0, 0.0)


def _spiky_then_shift(n: int = 3000, start: int = 2500) -> npt.NDArray[np.float64]:
    """Noise with regular tall spikes, then a sustained rise that stays below the spikes."""
    rng = np.random.default_rng(7)
    v = rng.normal(0.0, 1.0, n)
    v[50:start:100] = 12.0
    v[start:] += 6.0
    return v


def _scores(scales: tuple[float, ...], v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    det = make_detector("auto", weights=RANGE_ONLY, scales=scales)
    s = np.zeros(v.size, dtype=np.int64)
    t = np.arange(v.size, dtype=np.int64) * 60
    return np.asarray(det.score_batch(s, t, v))


def test_smoothed_scales_catch_a_rise_that_never_beats_the_raw_range() -> None:
    """A rise hidden under old spikes breaks only a smoothed record."""
    v = _spiky_then_shift()
    raw_only = _scores((), v)
    multi = _scores((0.25, 0.0625, 0.015625), v)
    assert raw_only[2500:].max() < 0.5
    assert multi[2500:2600].max() >= 0.5
    # once the spikes are part of the remembered history they no longer break a record
    assert multi[1200:2300].max() < 0.5


def test_invalid_scale_is_rejected() -> None:
    """A smoothing factor outside (0, 1] is a configuration error."""
    with pytest.raises(ValueError, match="scales"):
        make_detector("auto", scales=(0.0,))
