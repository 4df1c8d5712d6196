"""Group commit: batches submitted together are committed together; a batch that fails is
refused alone; a full queue refuses at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from tests.factories import make_batch
from tocsin.adapters.storage import sqlite_writer
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.errors import InvalidInput, Overloaded
from tocsin.core.observations import ObservationBatch
from tocsin.services import ingest as ingest_service
from tocsin.services.group_commit import GroupCommitter
from tocsin.services.ingest import ObservationCommitter
from tocsin.testing.scenario import write_small_config

T = 1_767_225_600


@pytest.fixture
def container(db_url: str, tmp_path: Path) -> Iterator[Container]:
    built = build(Settings(database_url=db_url, config_dir=write_small_config(tmp_path / "c")))
    yield built
    built.close()


def _batch(container: Container, minutes: list[int], value: float = 1.0) -> ObservationBatch:
    ident = container.rules.ids["D11.river_level"]
    return make_batch([ident] * len(minutes), [T + 60 * m for m in minutes], [value] * len(minutes))


def _taken(committer: ObservationCommitter) -> None:
    """Wait until the committer has taken everything queued (it then waits for the lock)."""
    deadline = time.monotonic() + 30
    while committer.queued_rows and time.monotonic() < deadline:
        pass
    assert committer.queued_rows == 0


def _stored(container: Container) -> list[int]:
    with container.store.transaction() as tx:
        ident = container.rules.ids["D11.river_level"]
        return [int(t) for t in tx.observations.read(ident).times]


def test_batches_waiting_together_are_committed_in_one_transaction(container: Container) -> None:
    committer = GroupCommitter(container.ingest.ingest_group, size=len)
    with container.ingest._lock:  # the first group is being committed: the rest wait together
        first = committer.submit(_batch(container, [0]))
        _taken(committer)
        waiting = [committer.submit(_batch(container, [m, m + 10])) for m in (1, 2, 3)]
        assert all(not f.done() for f in [first, *waiting])  # nobody answered before commit
    results = [f.result(timeout=30) for f in [first, *waiting]]
    committer.close()
    assert [r.received for r in results] == [1, 2, 2, 2]
    assert [r.evaluated for r in results] == [1, 2, 2, 2]
    assert (committer.stats.commits, committer.stats.requests) == (2, 4)
    assert _stored(container) == [T + 60 * m for m in (0, 1, 2, 3, 11, 12, 13)]


def test_a_batch_that_fails_in_the_group_is_refused_alone(container: Container) -> None:
    committer = GroupCommitter(container.ingest.ingest_group, size=len)
    unknown = make_batch([container.rules.size + 5], [T], [1.0])  # passed no validation
    with container.ingest._lock:
        blocker = committer.submit(_batch(container, [0]))
        _taken(committer)
        good = committer.submit(_batch(container, [1]))
        bad = committer.submit(unknown)
        later = committer.submit(_batch(container, [2]))
    assert blocker.result(timeout=30).received == 1
    assert good.result(timeout=30).received == 1
    assert later.result(timeout=30).received == 1
    with pytest.raises(InvalidInput, match="unknown indicator id"):
        bad.result(timeout=30)
    committer.close()
    assert committer.stats.retried_alone == 3
    assert _stored(container) == [T, T + 60, T + 120]


def test_a_full_queue_refuses_at_once_and_stores_nothing_of_the_refused(
    container: Container,
) -> None:
    committer = GroupCommitter(
        container.ingest.ingest_group, size=len, max_queued_rows=3, retry_after_s=2
    )
    with container.ingest._lock:
        taken = committer.submit(_batch(container, [0]))
        _taken(committer)
        queued = committer.submit(_batch(container, [1, 2]))
        with pytest.raises(Overloaded) as refused:
            committer.submit(_batch(container, [3, 4]))
    assert refused.value.retry_after_s == 2
    taken.result(timeout=30)
    queued.result(timeout=30)
    committer.close()
    assert committer.stats.refused == 1
    assert _stored(container) == [T, T + 60, T + 120]


def test_rows_of_two_batches_with_one_key_keep_the_later_batch(container: Container) -> None:
    committer = GroupCommitter(container.ingest.ingest_group, size=len)
    with container.ingest._lock:
        blocker = committer.submit(_batch(container, [0]))
        _taken(committer)
        first = committer.submit(_batch(container, [5], value=1.0))
        second = committer.submit(_batch(container, [5], value=2.0))
    for future in (blocker, first, second):
        future.result(timeout=30)
    committer.close()
    with container.store.transaction() as tx:
        got = tx.observations.read(container.rules.ids["D11.river_level"])
    assert got.values.tolist() == [1.0, 2.0]
    assert np.array_equal(got.times, [T, T + 300])


def test_under_load_a_group_waits_to_gather_and_alone_an_item_does_not_wait() -> None:
    held = threading.Event()  # the second commit waits for it
    holding = threading.Event()  # set when the second commit is waiting
    groups: list[list[int]] = []

    def commit(group: list[int]) -> list[int]:
        groups.append(list(group))
        if len(groups) == 2:
            holding.set()
            held.wait(timeout=30)
        return group

    committer: GroupCommitter[int, int] = GroupCommitter(
        commit, what="numbers", gather_s=2.0, gather_rows=5
    )
    started = time.monotonic()
    assert committer.submit(0).result(timeout=30) == 0
    assert time.monotonic() - started < 1.0  # alone: committed without the 2 s gathering
    first = committer.submit(1)
    assert holding.wait(timeout=30)  # its commit runs (and waits)
    waiting = [committer.submit(n) for n in (2, 3)]  # they come in meanwhile: load
    held.set()
    assert first.result(timeout=30) == 1
    time.sleep(0.3)
    assert not waiting[0].done()  # gathering: two waiting, five wanted, for at most 2 s
    waiting += [committer.submit(n) for n in (4, 5, 6)]
    assert [f.result(timeout=30) for f in waiting] == [2, 3, 4, 5, 6]
    assert groups == [[0], [1], [2, 3, 4, 5, 6]]  # gathered into one group, in order
    started = time.monotonic()
    assert committer.submit(7).result(timeout=30) == 7
    assert time.monotonic() - started < 1.0  # the load passed: no waiting again
    committer.close()


def test_upkeep_runs_after_a_group_is_answered_and_its_failure_takes_no_group_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answered: list[bool] = []  # at each upkeep: were the futures of the group done?
    futures: list[Future[int]] = []

    def upkeep() -> None:
        answered.append(all(f.done() for f in futures))
        if len(answered) == 1:
            raise RuntimeError("upkeep failed")

    committer: GroupCommitter[int, int] = GroupCommitter(
        lambda group: group, what="numbers", after=upkeep
    )
    futures.append(committer.submit(1))
    assert futures[0].result(timeout=30) == 1
    futures.append(committer.submit(2))  # the failed upkeep stopped nothing
    assert futures[1].result(timeout=30) == 2
    committer.close()
    assert answered == [True, True]
    assert "upkeep after a group commit failed" in caplog.text


def test_the_observation_committer_merges_sqlites_inbox_after_answering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the upkeep looks every SETTLE_EVERY rows; on SQLite it merges a large inbox then
    monkeypatch.setattr(ingest_service, "SETTLE_EVERY", 2)
    monkeypatch.setattr(sqlite_writer, "SETTLE_AT", 3)
    db = f"sqlite:///{tmp_path / 't.db'}"
    container = build(Settings(database_url=db, config_dir=write_small_config(tmp_path / "c")))
    try:
        for minutes in ([0], [1, 2], [3]):  # 1 row: no look; 3: a look, 3 held: merged
            future = container.committer.submit(_batch(container, minutes))
            assert future.result(timeout=30).received == len(minutes)
        container.committer.close()
        engine = container.store.engine  # type: ignore[attr-defined]
        with engine.connect() as conn:
            held = conn.exec_driver_sql("SELECT count(*) FROM observation_inbox").scalar_one()
            table = conn.exec_driver_sql("SELECT count(*) FROM observations").scalar_one()
        assert (held, table) == (1, 3)  # the fourth came after the merge
        assert _stored(container) == [T, T + 60, T + 120, T + 180]
    finally:
        container.close()
