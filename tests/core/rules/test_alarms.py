"""The alarm rule: episodes with a hold, fresh detections, the quiet period, NAB's output."""

from __future__ import annotations

import numpy as np
import pytest

from tocsin.core.rules.alarms import AlarmRule, AlarmState, decide, first_alarm_scores


def _run(rule: AlarmRule, scores: list[float]) -> tuple[list[int], list[int]]:
    s = np.asarray(scores, dtype=np.float64)
    flags, fresh = decide(rule, AlarmState.empty(), np.zeros(s.size, dtype=np.int64), s)
    return flags.astype(int).tolist(), fresh.astype(int).tolist()


def test_an_episode_ends_after_hold_calm_rows() -> None:
    flags, fresh = _run(AlarmRule(hold=2, quiet_fraction=0.0), [0.1, 0.6, 0.3, 0.7, 0.2, 0.2, 0.1])
    assert flags == [0, 1, 1, 1, 1, 0, 0]
    assert fresh == [0, 1, 0, 0, 0, 0, 0]


def test_the_quiet_period_swallows_a_second_episode() -> None:
    scores = [0.0] * 100 + [0.9] + [0.0] * 2 + [0.9] + [0.0] * 10 + [0.9]
    flags, fresh = _run(AlarmRule(hold=1, quiet_fraction=0.05), scores)
    # the first alarm at row 100 quiets the next int(0.05 * 100) = 5 rows: 103 is not fresh
    assert [i for i, f in enumerate(fresh) if f] == [100, 114]
    assert flags[103] == 1


def test_an_upgrade_within_an_episode_is_a_fresh_detection() -> None:
    rule = AlarmRule(hold=5, quiet_fraction=0.0, upgrade=0.1)
    _, fresh = _run(rule, [0.55, 0.6, 0.7, 0.72, 0.9])
    assert fresh == [1, 0, 1, 0, 1]


def test_nan_scores_keep_the_state() -> None:
    flags, fresh = _run(AlarmRule(hold=1), [0.9, float("nan"), 0.1])
    assert flags == [1, 1, 0]
    assert fresh == [1, 0, 0]


def test_series_are_independent_and_batches_compose() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random(400)
    series = np.tile([0, 1], 200).astype(np.int64)
    rule = AlarmRule(hold=3)
    whole = decide(rule, AlarmState.empty(), series, scores)
    state = AlarmState.empty()
    head = decide(rule, state, series[:150], scores[:150])
    tail = decide(rule, state, series[150:], scores[150:])
    for i in range(2):
        assert np.array_equal(whole[i], np.concatenate([head[i], tail[i]]))
    alone = decide(rule, AlarmState.empty(), np.zeros(200, np.int64), scores[series == 1])
    assert np.array_equal(whole[0][series == 1], alone[0])


def test_first_alarm_scores_keep_fresh_and_calm_rows() -> None:
    scores = np.array([0.2, 0.8, 0.9, 0.3, np.nan])
    flags = np.array([False, True, True, False, False])
    fresh = np.array([False, True, False, False, False])
    assert first_alarm_scores(scores, flags, fresh).tolist() == [0.2, 0.8, 0.0, 0.3, 0.0]


@pytest.mark.parametrize(
    "kwargs",
    [{"threshold": 0.0}, {"threshold": 1.5}, {"hold": 0}, {"quiet_fraction": 1.0}, {"upgrade": -1}],
)
def test_invalid_rules_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        AlarmRule(**kwargs)  # type: ignore[arg-type]
