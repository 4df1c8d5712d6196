"""The two kernel sets (compiled, numpy) give identical results; operator codes are a table."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tocsin.core.risk import kernels, kernels_numpy
from tocsin.core.risk.model import METHOD_CODES, Method

VALUES = st.one_of(
    st.floats(min_value=-5, max_value=15, allow_nan=False),
    st.sampled_from([0.0, 1.0, 10.0, 1.15, 2.25, 0.35, math.nan, math.nan]),
)


def test_every_operator_has_its_own_explicit_code() -> None:
    assert set(METHOD_CODES) == set(Method)
    assert len(set(METHOD_CODES.values())) == len(Method)
    named = {
        Method.MEAN: kernels.MEAN,
        Method.GEOMETRIC: kernels.GEOMETRIC,
        Method.INFORM_GEOMETRIC: kernels.INFORM_GEOMETRIC,
        Method.MAX: kernels.MAX,
        Method.MIN: kernels.MIN,
        Method.SUM: kernels.SUM,
        Method.PRODUCT: kernels.PRODUCT,
    }
    assert named == dict(METHOD_CODES)


def _run(
    module: object, frame: np.ndarray, children: np.ndarray, operator: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n = frame.shape[1]
    out, out_cover = np.empty(n), np.empty(n)
    cover = np.where(np.isnan(frame), 0.0, 0.5 + 0.5 * (frame > 3))
    module.aggregate_rows(  # type: ignore[attr-defined]
        np.ascontiguousarray(frame),
        np.ascontiguousarray(cover),
        children,
        operator,
        out,
        out_cover,
        np.empty((2, n)),
    )
    return out, out_cover


@settings(max_examples=120, deadline=None)
@given(
    frame=st.integers(1, 5).flatmap(lambda k: arrays(np.float64, (k + 1, 40), elements=VALUES)),
    method=st.sampled_from(list(Method)),
    weights_equal=st.booleans(),
    propagate=st.booleans(),
    min_present=st.integers(0, 3),
    decimals=st.integers(-1, 3),
    substitute=st.booleans(),
)
def test_compiled_and_numpy_aggregates_are_bit_identical(
    frame: np.ndarray,
    method: Method,
    weights_equal: bool,
    propagate: bool,
    min_present: int,
    decimals: int,
    substitute: bool,
) -> None:
    k = frame.shape[0] - 1
    children = np.array(
        [
            np.arange(k, 0, -1),  # children in any row order
            np.ones(k) if weights_equal else np.linspace(0.5, 2.0, k),
            [0.1 if substitute and j == 0 else math.nan for j in range(k)],
        ],
        dtype=np.float64,
    )
    operator = np.array([METHOD_CODES[method], propagate, min_present, 10.0, 1.0, decimals])
    a, ca = _run(kernels, frame, children, operator)
    b, cb = _run(kernels_numpy, frame, children, operator)
    assert np.array_equal(a, b, equal_nan=True), (method, a, b)
    assert np.array_equal(ca, cb)


ROUNDING = st.one_of(
    st.floats(-1e7, 1e7),
    st.integers(-(10**7), 10**7).map(lambda i: i / 200),  # many halves such as 1.15, 2.675
    st.floats(1e13, 1e16),  # 15 significant digits and more before the rounding position
    st.just(math.nan),
)


@given(arrays(np.float64, 64, elements=ROUNDING), st.integers(0, 5))
def test_compiled_and_numpy_rounding_are_bit_identical(x: np.ndarray, decimals: int) -> None:
    assert np.array_equal(
        kernels.round_half_up(x, decimals), kernels_numpy.round_half_up(x, decimals), equal_nan=True
    )


@pytest.mark.parametrize(("higher_is_worse", "clip"), [(True, True), (False, True), (True, False)])
def test_compiled_and_numpy_normalisation_are_bit_identical(
    higher_is_worse: bool, clip: bool
) -> None:
    x = np.random.default_rng(3).uniform(-20, 120, 5000)
    x[::7] = np.nan
    a, b = np.empty_like(x), np.empty_like(x)
    bounds = np.array([0.0, 100.0, higher_is_worse, clip, 0.0, 10.0, 1])
    for module, out in ((kernels, a), (kernels_numpy, b)):
        module.normalise_bounds(x, bounds, out)
    assert np.array_equal(a, b, equal_nan=True)
