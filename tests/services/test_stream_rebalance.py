"""Rebalancing, on a real NATS JetStream server and a real database: workers started without
fixed partitions share them evenly, and a partition that moves when a worker joins or leaves
takes its threshold and detector state along: every warning is the one a single process
would have raised from the same observations, once."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.faults import gauge_rows
from tocsin.adapters.storage.sql.checkpoints import SqlCheckpoints
from tocsin.bootstrap import Container, build
from tocsin.bootstrap_worker import Worker, build_worker
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.errors import NotOwner
from tocsin.core.rules.thresholds import ThresholdState
from tocsin.core.stream_partitions import partition_of
from tocsin.services.ingest import RawObservations
from tocsin.services.rule_checkpoints import partition_checkpoint
from tocsin.testing.nats import NatsServer
from tocsin.testing.replay import clean_replay, stored_observations, stored_transitions
from tocsin.testing.scenario import small_config, write_small_config

SYSTEM = system_principal("test")
PARTITIONS = 4
GAUGES = [f"R{i:02d}.level" for i in range(8)]
T0 = 1_767_225_600
DETECTOR = {
    "kind": "robust_z",
    "params": {"warmup": 20, "z_threshold": 5.0},
    "thresholds": {"yellow": 0.4, "red": 0.5},
}
MINUTES = 120
MOVES = (40, 80)  # a worker joins at 40, one leaves at 80
SPIKES = {code: (42 + 5 * i, 82 + 3 * i) for i, code in enumerate(GAUGES)}  # just after


def _config(folder: Path) -> Path:
    docs = small_config()
    gauges = gauge_rows(GAUGES, {"yellow": 6.0, "red": 9.0}, detector=DETECTOR)
    docs["indicators.yaml"]["indicators"].extend(gauges)
    return write_small_config(folder, **docs)


def _values(minute: int) -> dict[str, float]:
    rng = np.random.default_rng(minute)
    out = {}
    for code, noise in zip(GAUGES, rng.standard_normal(len(GAUGES)), strict=True):
        value = 2.0 + 0.05 * noise
        if minute in SPIKES[code]:
            value = 4.0  # far outside the band the detector learnt: a detector warning
        if code == GAUGES[0] and 60 <= minute < 90:
            value = 7.0 + 0.05 * noise  # the threshold rule too: yellow across the move
        out[code] = value
    return out


@pytest.fixture
def settings(db_url: str, tmp_path: Path, nats: NatsServer) -> Settings:
    return Settings(
        database_url=db_url,
        config_dir=_config(tmp_path / "config"),
        stream_url=nats.url,
        stream_partitions=PARTITIONS,
        background_workers=False,
        lease_s=6,
    )


@pytest.fixture
def api(settings: Settings) -> Iterator[Container]:
    container = build(settings.model_copy(update={"role": "api"}))
    yield container
    container.close()


def _post(api: Container, minute: int) -> None:
    values = _values(minute)
    raw = RawObservations(
        list(values),
        np.full(len(values), T0 + 60 * minute, dtype=np.int64),
        np.array(list(values.values()), dtype=np.float64),
    )
    api.committer.submit(api.ingest.validate(raw, principal=SYSTEM)).result(timeout=30)


class Clock:
    """The moments the workers look at the table: far enough apart that each look is due, and
    ahead of the monotonic clock, so that only `_settle` moves partitions (not the look a
    pass makes first when one is due)."""

    def __init__(self) -> None:
        self.now = time.monotonic() + 100_000.0

    def tick(self) -> float:
        self.now += 60.0
        return self.now


def _settle(workers: list[Worker], clock: Clock) -> None:
    """Let the workers look at the table until nothing moves (each look after the others')."""
    for _ in range(6):
        moved = [w.rebalance(now=clock.tick()) for w in workers]
        if not any(moved):
            return
    raise AssertionError("the partitions did not settle")


def _drain(workers: list[Worker]) -> int:
    total = 0
    while (done := sum(w.loop.run_once() for w in workers)) > 0:
        total += done
    return total


def _owned(workers: list[Worker]) -> list[tuple[int, ...]]:
    return [w.loop.partitions for w in workers]


def test_partitions_move_with_their_state_when_a_worker_joins_and_one_leaves(
    api: Container, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    first = build_worker(settings, partitions=None)
    second: Worker | None = None
    try:
        _settle([first], clock)
        assert _owned([first]) == [(0, 1, 2, 3)]
        for minute in range(MOVES[0]):
            _post(api, minute)
        _drain([first])

        second = build_worker(settings, partitions=None)  # joins: two of four move to it
        _settle([second, first], clock)
        owned = _owned([first, second])
        assert sorted(owned[0] + owned[1]) == [0, 1, 2, 3]
        assert len(owned[0]) == len(owned[1]) == 2
        moved = set(owned[1])
        for worker, mine in zip((first, second), owned, strict=True):  # its own series alone
            scoring = worker.loop.ingest.scoring
            held = sorted(ind.code for ind in scoring.indicators) if scoring else []
            assert held == sorted(c for c in GAUGES if partition_of(c, PARTITIONS) in mine)
        for minute in range(MOVES[0], MOVES[1]):
            _post(api, minute)
        _drain([first, second])

        first.close()  # leaves (gives its leases up): the second takes everything
        reads: list[list[int] | None] = []
        real = SqlCheckpoints.load_thresholds

        def spy(self: SqlCheckpoints, n: int, ids: list[int] | None = None) -> ThresholdState:
            reads.append(None if ids is None else sorted(ids))
            return real(self, n, ids)

        monkeypatch.setattr(SqlCheckpoints, "load_thresholds", spy)
        _settle([second], clock)
        assert _owned([second]) == [(0, 1, 2, 3)]
        ids = second.container.rules.ids
        taken = sorted(ids[c] for c in second.container.rules.ids if partition_of(c, 4) in owned[0])
        assert reads == [taken]  # the partitions taken over are read, nothing else
        with second.container.store.transaction() as tx:  # its membership row is gone too
            assert [m.holder for m in tx.leases.named("stream-worker:")] == [
                second.balancer.holder if second.balancer else None
            ]
        for minute in range(MOVES[1], MINUTES):
            _post(api, minute)
        _drain([second])

        check = second.container
        stored = stored_observations(check)
        assert all(len(stored[code][0]) == MINUTES for code in GAUGES)  # each stored once
        transitions = stored_transitions(check)
        assert transitions == clean_replay(check)  # as one process would have raised them
        moved_gauges = [c for c in GAUGES if partition_of(c, PARTITIONS) in moved]
        assert moved_gauges
        red = {(code, at) for code, kind, level, at in transitions if level == "red"}
        for code in GAUGES[1:]:  # each spike, within 20 observations of a move, raised red
            for minute in SPIKES[code]:  # (a detector that started afresh is still warming up)
                at = datetime.fromtimestamp(T0 + 60 * minute, UTC).isoformat()
                assert (code, at) in red, (code, minute)
        with check.store.transaction() as tx:
            blobs = [tx.checkpoints.load(partition_checkpoint(p, PARTITIONS)) for p in range(4)]
        spanned = {partition_of(c, PARTITIONS) for c in GAUGES}
        assert [b is not None for b in blobs] == [p in spanned for p in range(4)]
    finally:
        for role in (first, second):
            if role is not None:
                role.close()


def test_a_worker_that_stops_renewing_loses_its_partitions_to_the_others(
    api: Container, settings: Settings
) -> None:
    clock = Clock()
    quick = settings.model_copy(update={"lease_s": 1})
    first = build_worker(quick, partitions=None)
    second = build_worker(quick, partitions=None)
    try:
        _settle([first, second], clock)
        assert sorted(_owned([first, second])[0] + _owned([first, second])[1]) == [0, 1, 2, 3]
        for minute in range(3):
            _post(api, minute)
        _drain([first, second])
        time.sleep(1.5)  # the first is "paused": it renews nothing and its leases run out
        _settle([second], clock)
        assert _owned([second]) == [(0, 1, 2, 3)]
        for minute in range(3, 6):
            _post(api, minute)
        assert _drain([second]) > 0
        stored = stored_observations(second.container)
        assert all(len(stored[code][0]) == 6 for code in GAUGES)
        assert stored_transitions(second.container) == clean_replay(second.container)
        # the first wakes up: it cannot commit the partitions it lost, and gives them up
        with contextlib.suppress(NotOwner):  # its reads find nothing, or its commit is fenced
            assert first.loop.run_once() == 0
        assert stored_observations(second.container) == stored
        _settle([first, second], clock)  # and joins again: the two share them once more
        owned = _owned([first, second])
        assert sorted(owned[0] + owned[1]) == [0, 1, 2, 3]
        assert len(owned[0]) == 2
        for minute in range(6, 9):
            _post(api, minute)
        _drain([first, second])
        stored = stored_observations(second.container)
        assert all(len(stored[code][0]) == 9 for code in GAUGES)
        assert stored_transitions(second.container) == clean_replay(second.container)
    finally:
        first.close()
        second.close()
