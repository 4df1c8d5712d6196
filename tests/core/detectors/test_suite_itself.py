"""The conformance suite fails detectors that do not detect."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from tocsin.core.detectors.ewma import EwmaDetector
from tocsin.testing.detectors import check_params_round_trip, check_ranks_injected_anomalies


class _Silent(EwmaDetector):
    """An EWMA detector that always answers 0."""

    def _run(self, state: dict[str, Any], s: Any, t: Any, v: Any) -> npt.NDArray[np.float64]:
        super()._run(state, s, t, v)
        return np.zeros(s.size)


class _Forgetful(EwmaDetector):
    """An EWMA detector whose get_params forgets a hyperparameter."""

    def get_params(self) -> dict[str, Any]:
        params = super().get_params()
        params.pop("alpha")
        return params


def test_a_detector_that_always_returns_zero_fails() -> None:
    with pytest.raises(AssertionError, match="spike"):
        check_ranks_injected_anomalies(_Silent)


def test_a_parameter_that_does_not_round_trip_fails() -> None:
    with pytest.raises(AssertionError):
        check_params_round_trip(lambda: _Forgetful(alpha=0.2))


def test_a_real_detector_passes() -> None:
    check_ranks_injected_anomalies(EwmaDetector)
    check_params_round_trip(EwmaDetector)
