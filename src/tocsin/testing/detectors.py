"""The conformance suite every detector passes (STYLE.md §4): ``check_detector(factory)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from tocsin.core.detectors.base import ArrayDetector

Factory = Callable[[], ArrayDetector]


def _stream(
    n: int, n_series: int, dim: int | None, seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Interleaved series: daily-ish cycle, noise, a few spikes and a level shift."""
    rng = np.random.default_rng(seed)
    series = np.tile(np.arange(n_series, dtype=np.int64), n)
    step = np.repeat(np.arange(n, dtype=np.int64), n_series)
    times = 1_700_000_000 + 300 * step
    width = 1 if dim is None else dim
    base = 10.0 + 3.0 * np.sin(2 * np.pi * step / 288.0)
    values = base[:, None] + rng.normal(scale=1.0, size=(series.size, width))
    values[rng.random(series.size) < 0.01] += 15.0
    values[step > 0.7 * n] += 5.0
    return series, times, values[:, 0] if dim is None else values


def _expect(condition: bool, message: str) -> None:
    """Fail a conformance check with ``message`` unless ``condition`` holds."""
    if not condition:
        raise AssertionError(message)


def _width(factory: Factory) -> int | None:
    """None for a univariate detector, else a group width to test with."""
    return None if factory().dim is None else 3


def _states_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two checkpoints hold the same keys and equal (NaN-aware) values."""
    if a.keys() != b.keys():
        return False
    return all(_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a)


def _equal(x: npt.NDArray[Any], y: npt.NDArray[Any]) -> bool:
    """Array equality, NaN equal to NaN for float arrays."""
    if x.dtype.kind == "f" and y.dtype.kind == "f":
        return bool(np.array_equal(x, y, equal_nan=True))
    return bool(np.array_equal(x, y))


def check_checkpoint_round_trip(factory: Factory) -> None:
    """A detector restored mid-stream scores the rest exactly as the original does."""
    s, t, v = _stream(600, 3, _width(factory), seed=1)
    cut = s.size // 2
    original = factory()
    original.score_batch(s[:cut], t[:cut], v[:cut])
    restored = factory()
    restored.restore(original.checkpoint())
    a = original.score_batch(s[cut:], t[cut:], v[cut:])
    b = restored.score_batch(s[cut:], t[cut:], v[cut:])
    _expect(bool(np.array_equal(a, b)), "checkpoint/restore changed the scores")
    _expect(
        bool(_states_equal(original.checkpoint(), restored.checkpoint())),
        "_states_equal(original.checkpoint(), restored.checkpoint())",
    )


def check_dry_run_does_not_learn(factory: Factory) -> None:
    """``score_batch(..., learn=False)`` leaves the state as it was and scores as learning would."""
    s, t, v = _stream(400, 2, _width(factory), seed=2)
    det = factory()
    det.score_batch(s[:400], t[:400], v[:400])
    before = det.checkpoint()
    dry = det.score_batch(s[400:], t[400:], v[400:], learn=False)
    _expect(
        bool(_states_equal(before, det.checkpoint())), "scoring without learning mutated the state"
    )
    wet = det.score_batch(s[400:], t[400:], v[400:])
    _expect(bool(np.array_equal(dry, wet)), "np.array_equal(dry, wet)")


def check_constant_series(factory: Factory) -> None:
    """A constant series gives finite scores in [0, 1] (no division by zero), also for zero."""
    dim = _width(factory)
    for level in (0.0, 7.0):
        det = factory()
        n = 800
        shape = (n,) if dim is None else (n, dim)
        scores = det.score_batch(
            np.zeros(n, dtype=np.int64), np.arange(n) * 60, np.full(shape, level)
        )
        _expect(bool(np.isfinite(scores).all()), "np.isfinite(scores).all()")
        _expect(
            bool(((scores >= 0) & (scores <= 1)).all()), "((scores >= 0) & (scores <= 1)).all()"
        )
        _expect(bool((scores < det.threshold).all()), "a constant series raised an alarm")
        lo, hi = det.expected_range(np.array([0]))
        _expect(bool(np.isfinite(lo).all()), "expected_range lo not finite")
        _expect(bool(np.isfinite(hi).all()), "expected_range hi not finite")


def check_nan_policy(factory: Factory) -> None:
    """A NaN scores 0 and leaves the state unchanged."""
    s, t, v = _stream(300, 1, _width(factory), seed=3)
    det = factory()
    det.score_batch(s, t, v)
    before = det.checkpoint()
    nan_value = np.full((1, *v.shape[1:]), np.nan)
    score = det.score_batch(np.array([0]), np.array([t[-1] + 300]), nan_value)
    _expect(bool(score[0] == 0.0), "score[0] == 0.0")
    _expect(
        bool(_states_equal(before, det.checkpoint())), "_states_equal(before, det.checkpoint())"
    )


def check_bounded_memory(factory: Factory) -> None:
    """The state size depends on the number of series, not on the length of the stream."""
    dim = _width(factory)
    sizes = []
    for n in (300, 3000):
        det = factory()
        s, t, v = _stream(n, 2, dim, seed=4)
        det.score_batch(s, t, v)
        sizes.append(sum(np.asarray(x).nbytes for x in det.checkpoint().values()))
    _expect(bool(sizes[0] == sizes[1]), f"state grew with the stream: {sizes}")


def check_batch_equals_one_by_one(factory: Factory) -> None:
    """Scoring a batch equals scoring the same observations one at a time, in order."""
    s, t, v = _stream(250, 2, _width(factory), seed=5)
    batch = factory().score_batch(s, t, v)
    det = factory()
    single = np.array([det.score_one(int(s[i]), int(t[i]), v[i]) for i in range(s.size)])
    _expect(bool(np.array_equal(batch, single)), "np.array_equal(batch, single)")


def check_series_independent(factory: Factory) -> None:
    """Interleaving series gives each the scores it gets alone; scores lie in [0, 1]."""
    s, t, v = _stream(500, 3, _width(factory), seed=6)
    together = factory().score_batch(s, t, v)
    _expect(
        bool(((together >= 0) & (together <= 1)).all()), "((together >= 0) & (together <= 1)).all()"
    )
    for k in range(3):
        mask = s == k
        alone = factory().score_batch(np.zeros(mask.sum(), dtype=np.int64), t[mask], v[mask])
        _expect(
            bool(np.array_equal(alone, together[mask])), "np.array_equal(alone, together[mask])"
        )


def check_ready_and_range(factory: Factory) -> None:
    """``ready`` is False before warm-up and for unseen series; ranges have the right shape."""
    det = factory()
    _expect(bool(not det.ready(np.array([0, 5])).any()), "not det.ready(np.array([0, 5])).any()")
    s, t, v = _stream(1000, 2, _width(factory), seed=7)
    det.score_batch(s, t, v)
    _expect(bool(det.ready(np.array([0, 1])).all()), "det.ready(np.array([0, 1])).all()")
    _expect(bool(not det.ready(np.array([9])).any()), "not det.ready(np.array([9])).any()")
    lo, hi = det.expected_range(np.array([0, 1]))
    _expect(bool(lo.shape == hi.shape), "lo.shape == hi.shape")
    _expect(bool((lo <= hi).all()), "(lo <= hi).all()")
    _expect(bool(0.0 < det.threshold <= 1.0), "0.0 < det.threshold <= 1.0")


def _injected(dim: int | None, warmup: int) -> tuple[Any, ...]:
    """One series: noise on a slow cycle, a spike, later a sustained level shift (8 sd)."""
    n = max(4 * warmup, 1200)
    rng = np.random.default_rng(11)
    step = np.arange(n)
    base = np.sin(2 * np.pi * step / 97.0) + rng.normal(scale=0.5, size=n)
    width = 1 if dim is None else dim
    values = np.repeat(base[:, None], width, axis=1) + rng.normal(scale=0.1, size=(n, width))
    spike, shift = n - n // 3, n - n // 6
    values[spike, 0] += 12.0
    values[shift:, 0] += 8.0
    times = 1_700_000_000 + 60 * step
    return np.zeros(n, dtype=np.int64), times, values[:, 0] if dim is None else values, spike, shift


def check_ranks_injected_anomalies(factory: Factory) -> None:
    """A spike and a level shift score above the normal data before them (a detector that always
    returns 0, or scores everything alike, fails)."""
    det = factory()
    s, t, v, spike, shift = _injected(_width(factory), int(getattr(det, "warmup", 100)))
    scores = det.score_batch(s, t, v)
    normal = scores[(np.arange(s.size) >= spike - (spike // 3)) & (np.arange(s.size) < spike)]
    bar = float(np.quantile(normal, 0.99))
    _expect(bool(scores[spike : spike + 3].max() > bar), f"spike not above normal ({bar:.3f})")
    _expect(
        bool(scores[shift : shift + 30].max() > bar), f"level shift not above normal ({bar:.3f})"
    )


def check_params_round_trip(factory: Factory) -> None:
    """``get_params`` rebuilds an equal detector whose checkpoints are interchangeable; a
    checkpoint from other hyperparameters is refused."""
    det = factory()
    twin = type(det)(**det.get_params())
    _expect(twin.get_params() == det.get_params(), "get_params does not rebuild the detector")
    _expect(repr(twin) == repr(det), "repr differs after a parameter round trip")
    s, t, v = _stream(200, 2, _width(factory), seed=8)
    same = bool(np.array_equal(det.score_batch(s, t, v), twin.score_batch(s, t, v)))
    _expect(same, "a detector rebuilt from get_params scores differently")
    twin.restore(det.checkpoint())
    _expect(_states_equal(twin.checkpoint(), det.checkpoint()), "restored state differs")
    params = det.get_params()
    name = next(k for k, val in params.items() if isinstance(val, int | float))
    changed = {**params, name: params[name] * 2 if params[name] else 1}
    other = type(det)(**changed)
    try:
        other.restore(det.checkpoint())
    except ValueError:
        return
    raise AssertionError(f"a checkpoint with {name}={params[name]!r} loaded into {changed[name]!r}")


CHECKS: tuple[Callable[[Factory], None], ...] = (
    check_checkpoint_round_trip,
    check_dry_run_does_not_learn,
    check_constant_series,
    check_nan_policy,
    check_bounded_memory,
    check_batch_equals_one_by_one,
    check_series_independent,
    check_ready_and_range,
    check_ranks_injected_anomalies,
    check_params_round_trip,
)


def check_detector(factory: Factory) -> None:
    """Run every conformance check against detectors built by ``factory``."""
    for check in CHECKS:
        check(factory)
