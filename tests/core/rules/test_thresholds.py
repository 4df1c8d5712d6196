"""Threshold rules: direction, duration, hysteresis, idempotence, chunking, against a reference."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.core.observations import ObservationBatch
from tocsin.core.rules.thresholds import (
    ThresholdParams,
    ThresholdState,
    evaluate_thresholds,
)

LEVELS4 = [1.0, 2.0, 3.0, 4.0]


def make_params(
    thresholds: list[list[float]],
    *,
    higher: list[bool] | None = None,
    hysteresis: list[float] | None = None,
    raise_after: list[int] | None = None,
    clear_after: list[int] | None = None,
) -> ThresholdParams:
    n = len(thresholds)
    return ThresholdParams.build(
        np.array(thresholds, dtype=np.float64),
        higher_is_worse=np.array(higher if higher is not None else [True] * n),
        hysteresis=np.array(hysteresis or [0.0] * n),
        raise_after=np.array(raise_after or [0] * n, dtype=np.int64),
        clear_after=np.array(clear_after or [0] * n, dtype=np.int64),
    )


def run(
    params: ThresholdParams,
    values: list[float],
    *,
    series: list[int] | None = None,
    start: int = 0,
    step: int = 60,
) -> list[tuple[int, int, int]]:
    n = len(values)
    batch = ObservationBatch(
        np.array(series or [0] * n, dtype=np.int64),
        np.arange(start, start + n * step, step, dtype=np.int64),
        np.array(values, dtype=np.float64),
    )
    state = ThresholdState.empty(len(params))
    changes = evaluate_thresholds(params, state, batch)
    return list(
        zip(
            changes.obs_index.tolist(),
            changes.old_level.tolist(),
            changes.new_level.tolist(),
            strict=True,
        )
    )


def test_levels_rise_and_fall_with_the_value() -> None:
    changes = run(make_params([LEVELS4]), [0.5, 1.5, 3.2, 4.5, 2.0, 0.1])
    assert changes == [(1, 0, 1), (2, 1, 3), (3, 3, 4), (4, 4, 2), (5, 2, 0)]


def test_lower_is_worse_mirrors_the_thresholds() -> None:
    params = make_params([[40.0, 30.0, 20.0, 10.0]], higher=[False])
    changes = run(params, [50.0, 35.0, 5.0, 45.0])
    assert changes == [(1, 0, 1), (2, 1, 4), (3, 4, 0)]


def test_unused_levels_are_skipped() -> None:
    params = make_params([[math.nan, 90.0, math.nan, 105.0]])
    assert run(params, [95.0, 110.0, 80.0]) == [(0, 0, 2), (1, 2, 4), (2, 4, 0)]


def test_raise_waits_for_the_minimum_duration() -> None:
    params = make_params([LEVELS4], raise_after=[120])
    # one minute apart: the level must hold for two minutes, i.e. three observations
    changes = run(params, [3.5, 3.5, 3.5, 3.5, 0.0])
    assert changes == [(2, 0, 3), (4, 3, 0)]


def test_a_short_spike_raises_nothing_when_a_duration_is_required() -> None:
    params = make_params([LEVELS4], raise_after=[300])
    assert run(params, [0.0, 4.5, 0.0, 4.5, 0.0]) == []


def test_hysteresis_stops_flapping_around_a_threshold() -> None:
    flapping = [2.05, 1.95, 2.05, 1.97, 2.02, 1.96, 1.5]
    without = run(make_params([LEVELS4]), flapping)
    with_band = run(make_params([LEVELS4], hysteresis=[0.1]), flapping)
    # without a band every crossing of 2.0 changes the level; with a 0.1 band only the
    # final drop below 1.9 does (and 1.5 is still above the blue threshold 1.0)
    assert len(without) == 6
    assert with_band == [(0, 0, 2), (6, 2, 1)]


def test_clear_after_keeps_the_level_for_a_minimum_time() -> None:
    params = make_params([LEVELS4], clear_after=[180])
    changes = run(params, [4.5, 0.0, 0.0, 0.0, 0.0])
    assert changes == [(0, 0, 4), (4, 4, 0)]


def test_stale_and_repeated_observations_are_ignored() -> None:
    params = make_params([LEVELS4])
    state = ThresholdState.empty(1)
    batch = ObservationBatch(
        np.zeros(3, dtype=np.int64), np.array([10, 20, 30]), np.array([0.0, 4.5, 0.0])
    )
    first = evaluate_thresholds(params, state, batch)
    again = evaluate_thresholds(params, state, batch)
    assert len(first) == 2
    assert len(again) == 0
    assert not again.accepted.any()


def test_nan_values_are_skipped() -> None:
    assert run(make_params([LEVELS4]), [math.nan, 4.5, math.nan]) == [(1, 0, 4)]


def reference(
    thresholds: list[float],
    values: list[float],
    times: list[int],
    *,
    hyst: float,
    raise_after: int,
    clear_after: int,
) -> list[tuple[int, int, int]]:
    """A plain restatement of the rule, one level at a time, for comparison."""
    level = 0
    above: list[int | None] = [None] * 4
    below: list[int | None] = [None] * 4
    out = []
    for i, (t, v) in enumerate(zip(times, values, strict=True)):
        for k, th in enumerate(thresholds):
            meets = not math.isnan(th) and v >= th
            above[k] = (above[k] if above[k] is not None else t) if meets else None
            cleared = math.isnan(th) or v < th - hyst
            below[k] = (below[k] if below[k] is not None else t) if cleared else None
        candidates = [
            k + 1 for k in range(4) if (a := above[k]) is not None and t - a >= raise_after
        ]
        new = level
        if candidates and max(candidates) > level:
            new = max(candidates)
        else:
            while new > 0 and (b := below[new - 1]) is not None and t - b >= clear_after:
                new -= 1
        if new != level:
            out.append((i, level, new))
            level = new
    return out


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(min_value=-1, max_value=6, allow_nan=False), min_size=1, max_size=60),
    gaps=st.lists(st.integers(min_value=1, max_value=200), min_size=60, max_size=60),
    hyst=st.sampled_from([0.0, 0.1, 0.5]),
    raise_after=st.sampled_from([0, 60, 300]),
    clear_after=st.sampled_from([0, 120]),
    cut=st.integers(min_value=0, max_value=60),
)
def test_matches_the_reference_and_chunking_changes_nothing(
    values: list[float],
    gaps: list[int],
    hyst: float,
    raise_after: int,
    clear_after: int,
    cut: int,
) -> None:
    times = np.cumsum(gaps[: len(values)]).astype(np.int64)
    params = make_params(
        [LEVELS4], hysteresis=[hyst], raise_after=[raise_after], clear_after=[clear_after]
    )
    series = np.zeros(len(values), dtype=np.int64)
    vals = np.array(values)
    whole_state = ThresholdState.empty(1)
    whole = evaluate_thresholds(params, whole_state, ObservationBatch(series, times, vals))
    split_state = ThresholdState.empty(1)
    first = evaluate_thresholds(
        params, split_state, ObservationBatch(series[:cut], times[:cut], vals[:cut])
    )
    second = evaluate_thresholds(
        params, split_state, ObservationBatch(series[cut:], times[cut:], vals[cut:])
    )
    got = list(
        zip(
            whole.obs_index.tolist(),
            whole.old_level.tolist(),
            whole.new_level.tolist(),
            strict=True,
        )
    )
    assert got == reference(
        LEVELS4, values, times.tolist(), hyst=hyst, raise_after=raise_after, clear_after=clear_after
    )
    split = [
        (int(i), int(o), int(n))
        for i, o, n in zip(first.obs_index, first.old_level, first.new_level, strict=True)
    ]
    split += [
        (int(i) + cut, int(o), int(n))
        for i, o, n in zip(second.obs_index, second.old_level, second.new_level, strict=True)
    ]
    assert split == got
    assert np.array_equal(whole_state.level, split_state.level)


def test_series_are_independent() -> None:
    params = make_params([LEVELS4, LEVELS4])
    changes = run(params, [4.5, 0.5, 0.5, 1.5], series=[0, 1, 0, 1])
    assert changes == [(0, 0, 4), (2, 4, 0), (3, 0, 1)]
