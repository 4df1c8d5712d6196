"""Observation batches: deduplication keeps the last value per (series, time), in time order."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.core.observations import ObservationBatch


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5), st.floats(-5, 5)), max_size=40)
)
def test_deduplicated_matches_a_plain_restatement(rows: list[tuple[int, int, float]]) -> None:
    batch = ObservationBatch(
        np.array([r[0] for r in rows], dtype=np.int64),
        np.array([r[1] for r in rows], dtype=np.int64),
        np.array([r[2] for r in rows], dtype=np.float64),
    )
    last: dict[tuple[int, int], float] = {}
    for s, t, v in rows:
        last[(s, t)] = v
    expected = sorted(last.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    got = batch.deduplicated()
    assert list(zip(got.series.tolist(), got.times.tolist(), got.values.tolist(), strict=True)) == [
        (s, t, v) for (s, t), v in expected
    ]
    assert got.is_strictly_ordered()
