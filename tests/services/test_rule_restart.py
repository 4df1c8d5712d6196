"""Threshold rules resume exactly after a restart: durations, hysteresis and duplicates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.errors import InvalidInput
from tocsin.core.observations import ObservationBatch
from tocsin.testing.scenario import write_small_config

T0 = 1_767_225_600
# D12.river_level: thresholds 2/3/4/5 m, raise after 20 min, clear after 20 min, hysteresis 0.2
VALUES = [1.0, 3.5, 3.6, 3.4, 3.7, 4.2, 4.3, 4.1, 2.9, 2.85, 2.95, 1.0, 1.0, 1.0, 1.0, 1.0]


def feed(
    c: Container, start: int, stop: int, *, evaluated: int | None = None
) -> list[tuple[str, str, str]]:
    ident = c.rules.ids["D12.river_level"]
    n = stop - start
    batch = ObservationBatch(
        np.full(n, ident, dtype=np.int64),
        T0 + 600 * np.arange(start, stop, dtype=np.int64),
        np.array(VALUES[start:stop]),
    )
    result = c.ingest.ingest_batch(batch)
    if evaluated is not None:
        assert result.evaluated == evaluated
    return [(e.kind.value, e.to_level.value, e.at.isoformat()) for e in result.warning_events]


def test_a_restart_mid_episode_changes_nothing(db_url: str, tmp_path: Path) -> None:
    config = write_small_config(tmp_path / "cfg")
    straight = build(Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", config_dir=config))
    whole = feed(straight, 0, len(VALUES))
    straight.close()
    assert [k for k, _, _ in whole] == [
        "warning.raised",
        "warning.upgraded",
        "warning.downgraded",
        "warning.lifted",
    ]
    for cut in (2, 6, 9):
        db = db_url if cut == 6 else f"sqlite:///{tmp_path / f'cut{cut}.db'}"
        first = build(Settings(database_url=db, config_dir=config))
        got = feed(first, 0, cut)
        first.close()
        second = build(Settings(database_url=db))  # restart: state from the database
        got += feed(second, 0, cut, evaluated=0)  # the same observations again: ignored
        got += feed(second, cut, len(VALUES))
        second.close()
        assert got == whole, cut


def test_observations_stored_without_a_state_change_are_not_evaluated_twice(
    db_url: str, tmp_path: Path
) -> None:
    config = write_small_config(tmp_path / "cfg")
    c = build(Settings(database_url=db_url, config_dir=config))
    feed(c, 11, 13, evaluated=2)  # the clear condition starts: the rule state changes
    feed(c, 13, 16, evaluated=3)  # steady: nothing in the rule state changes but the time
    c.close()
    again = build(Settings(database_url=db_url))
    assert feed(again, 13, 16, evaluated=0) == []
    again.close()


def test_a_transaction_refused_after_a_chunk_changed_the_state_leaves_it_as_it_was(
    db_url: str, tmp_path: Path
) -> None:
    # the first chunk raises a warning in memory, the second names no indicator: the
    # transaction is refused, and the rows the first chunk changed are put back (only the rows
    # a transaction touches are copied before it), so the same episode fed again runs as if
    # the refused one never came
    c = build(Settings(database_url=db_url, config_dir=write_small_config(tmp_path / "cfg")))
    feed(c, 0, 1)
    before = c.ingest.state.copy()
    ident = c.rules.ids["D12.river_level"]
    other = c.rules.ids["D11.river_level"]
    times = T0 + 600 * np.arange(1, 8, dtype=np.int64)
    rising = ObservationBatch(
        np.array([ident] * 7 + [other], dtype=np.int64),
        np.append(times, T0),
        np.array([*VALUES[1:8], 9.0]),
    )
    unknown = ObservationBatch(
        np.array([c.rules.size + 3], dtype=np.int64), np.array([T0]), np.array([1.0])
    )
    with pytest.raises(InvalidInput, match="unknown indicator id"):
        c.ingest.ingest_chunks([rising, unknown])
    after = c.ingest.state
    assert np.array_equal(after.level, before.level)
    assert np.array_equal(after.last_time, before.last_time)
    assert np.array_equal(after.above_since, before.above_since)
    assert np.array_equal(after.below_since, before.below_since)
    got = feed(c, 1, len(VALUES))
    c.close()
    assert [k for k, _, _ in got] == [
        "warning.raised",
        "warning.upgraded",
        "warning.downgraded",
        "warning.lifted",
    ]
