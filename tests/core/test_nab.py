"""The NAB scorer against cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tocsin.core.nab import (
    PROFILES,
    LabelledFile,
    normalise,
    probation_length,
    row_weights,
    scaled_sigmoid,
    score_at,
    score_corpus,
    sweep,
)

STANDARD = PROFILES["standard"]


def _file(
    n: int, windows: tuple[tuple[int, int], ...], hits: list[int], name: str = "f"
) -> LabelledFile:
    scores = np.zeros(n)
    scores[hits] = 1.0
    return LabelledFile(name, scores, windows)


def test_probation_length_follows_nab() -> None:
    assert probation_length(1000) == 150
    assert probation_length(4032) == 604
    assert probation_length(22695) == 750
    assert probation_length(5) == 0


def test_scaled_sigmoid_known_values() -> None:
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(3.5) == -1.0
    assert scaled_sigmoid(-1.0) == pytest.approx(2 / (1 + math.exp(-5)) - 1)


def test_never_firing_scores_zero_on_every_profile() -> None:
    files = [_file(100, ((40, 49),), [], "a"), _file(200, ((100, 119), (150, 160)), [], "b")]
    for result in score_corpus(files).values():
        assert result.normalised == pytest.approx(0.0)


def test_first_row_of_every_window_scores_hundred() -> None:
    files = [
        _file(100, ((40, 49),), [40], "a"),
        _file(200, ((100, 119), (150, 160)), [100, 150], "b"),
    ]
    for result in score_corpus(files).values():
        assert result.normalised == pytest.approx(100.0)


def test_hand_computed_small_case() -> None:
    # 20 rows, probation 3 rows, one window on rows 10..13 (width 4).
    files = [_file(20, ((10, 13),), [1, 5, 12, 13, 15])]
    max_tp = 2 / (1 + math.exp(-5)) - 1
    tp = (2 / (1 + math.exp(-2.5)) - 1) / max_tp  # row 12: y = -(13 - 12 + 1) / 4 = -0.5
    fp_before = -0.11  # row 5, before the window; row 1 lies in probation
    fp_after = 0.11 * (2 / (1 + math.exp(5 * 2 / 3)) - 1)  # row 15: y = 2 / 3
    expected = tp + fp_before + fp_after
    assert score_at(files, STANDARD, 0.5) == pytest.approx(expected)
    result = sweep(files, STANDARD)
    assert result.raw == pytest.approx(expected)
    assert result.normalised == pytest.approx(100 * (expected + 1) / 2)


def test_sweep_picks_threshold_that_drops_false_positives() -> None:
    scores = np.zeros(50)
    scores[30] = 0.9  # inside the window
    scores[20] = 0.5  # false positive before it
    files = [LabelledFile("f", scores, ((30, 34),))]
    result = sweep(files, STANDARD)
    assert result.threshold == 0.9
    assert result.raw == pytest.approx(1.0)


def test_row_weights_after_window_grow_to_full_penalty() -> None:
    weights, window_of = row_weights(100, [(10, 19)], STANDARD)
    assert window_of[10] == 0
    assert window_of[20] == -1
    assert weights[10] == pytest.approx(1.0)
    assert 0 > weights[20] > weights[25] > -0.11
    assert weights[99] == pytest.approx(-0.11)
    assert weights[5] == pytest.approx(-0.11)


def test_normalise() -> None:
    assert normalise(-116, null=-116, perfect=116) == 0.0
    assert normalise(116, null=-232, perfect=116) == 100.0
