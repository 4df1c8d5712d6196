"""Scoring alarms against labelled ranges: cases with answers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tocsin.core.evaluation import (
    changepoint_raw,
    corpus_figures,
    event_counts,
    file_outcome,
    located_ranges,
    runs,
)


def _bools(n: int, *spans: tuple[int, int]) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    for a, b in spans:
        out[a : b + 1] = True
    return out


def test_runs_are_inclusive_and_maximal() -> None:
    assert runs([0, 1, 1, 0, 1]) == [(1, 2), (4, 4)]
    assert runs([]) == []
    assert runs([1, 1]) == [(0, 1)]


def test_a_range_counts_at_its_first_alarm_and_episodes_outside_are_false_alarms() -> None:
    labels = _bools(100, (20, 39), (60, 69))
    flags = _bools(100, (5, 6), (25, 27), (33, 80))
    detected, false_alarms, delays = event_counts(labels, flags)
    # range 20-39 first alarmed at 25 (delay 5); range 60-69 is inside the episode 33-80 (delay 0)
    assert (detected, delays) == (2, (5, 0))
    assert false_alarms == 1  # only the episode 5-6 touches no range


def test_a_missed_range_has_no_delay() -> None:
    detected, false_alarms, delays = event_counts(_bools(50, (10, 20)), _bools(50, (30, 31)))
    assert (detected, false_alarms, delays) == (0, 1, ())


def test_top1_for_one_range_is_the_archives_rule() -> None:
    labels = _bools(1000, (500, 520))
    scores = np.zeros(1000)
    scores[620] = 1.0  # within end + 100
    assert located_ranges(labels, scores, tolerance=100) == 1
    scores[621] = 2.0  # one row too far
    assert located_ranges(labels, scores, tolerance=100) == 0


def test_top1_with_several_ranges_uses_each_ranges_own_segment() -> None:
    labels = _bools(1000, (100, 110), (600, 610))
    scores = np.zeros(1000)
    scores[105] = 5.0  # the first range's segment is rows 0..355
    scores[400] = 3.0  # the second's is 356..999: its top (400) is too far from 600
    assert located_ranges(labels, scores, tolerance=100) == 1


def test_changepoints_perfect_null_and_false_alarms() -> None:
    labels = _bools(300, (100, 149))  # change points at 100 and 150
    perfect, windows = changepoint_raw(labels, _bools(300, (100, 149)), window=60)
    assert windows == 2
    assert perfect["standard"] == pytest.approx(2.0)
    null, _ = changepoint_raw(labels, np.zeros(300, dtype=bool), window=60)
    assert null["standard"] == pytest.approx(-2.0)
    assert null["low_fn"] == pytest.approx(-4.0)
    noisy, _ = changepoint_raw(labels, _bools(300, (10, 10), (100, 149)), window=60)
    # one alarm of one row outside every window: two edges, each a false positive
    assert noisy["standard"] == pytest.approx(2.0 - 2 * 0.11)
    late, _ = changepoint_raw(labels, _bools(300, (130, 149)), window=60)
    assert -2.0 < late["standard"] < perfect["standard"]


def test_corpus_figures_pool_the_files() -> None:
    a = file_outcome("a", _bools(100, (50, 59)), np.arange(100.0), _bools(100, (55, 64)))
    b = file_outcome("b", _bools(400, (300, 309)), np.zeros(400), np.zeros(400, dtype=bool))
    fig = corpus_figures([a, b])
    assert (fig.files, fig.ranges) == (2, 2)
    assert fig.event_recall == pytest.approx(0.5)
    assert fig.event_precision == pytest.approx(1.0)
    assert fig.point_precision == pytest.approx(5 / 10)
    assert fig.point_recall == pytest.approx(5 / 20)
    assert fig.rows == 500
    assert fig.delay_median == pytest.approx(5.0)
    # file a: top at 99, within 59 + 100; file b: flat scores, top at row 0, far from 300
    assert fig.top1 == pytest.approx(0.5)
    assert fig.changepoint["standard"] > 0.0
    assert fig.as_dict()["point_f1"] == pytest.approx(round(2 * 0.5 * 0.25 / 0.75, 4))


def test_no_labelled_rows_gives_nan_recall_not_a_crash() -> None:
    fig = corpus_figures([file_outcome("n", np.zeros(10), np.zeros(10), np.zeros(10))])
    assert math.isnan(fig.event_recall)
    assert fig.as_dict()["event_recall"] is None


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        file_outcome("x", np.zeros(3), np.zeros(4), np.zeros(3))
