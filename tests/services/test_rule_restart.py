"""Threshold rules resume exactly after a restart: durations, hysteresis and duplicates."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tocsin.bootstrap import Container, build
from tocsin.config import Settings
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
