"""The API and worker roles in one process, on a real NATS JetStream server and a real
database: batches appended by partition are stored and evaluated once, by the worker that
owns each partition, resuming from the offsets committed in the database."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.e2e.faults import Plan, codes, write_config
from tocsin.bootstrap import Container, build
from tocsin.bootstrap_worker import Worker, build_worker
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.errors import InvalidInput, NotOwner, Problem, Unavailable
from tocsin.core.stream_partitions import partition_of, share_of
from tocsin.core.stream_rows import decode
from tocsin.core.warnings.model import EventKind
from tocsin.services.ingest import IngestResult, RawObservations
from tocsin.testing.nats import NatsServer
from tocsin.testing.postgres import free_port
from tocsin.testing.replay import clean_replay, stored_observations, stored_transitions
from tocsin.web.worker_status import serve_status

SYSTEM = system_principal("test")
PARTITIONS = 4
T0 = 1_767_225_600
PLAN = Plan(seed=0, database="", servers=1, indicators=8)


@pytest.fixture
def settings(db_url: str, tmp_path: Path, nats: NatsServer) -> Settings:
    config = write_config(tmp_path / "config", PLAN, "http://127.0.0.1:9/hook")
    return Settings(
        database_url=db_url,
        config_dir=config,
        stream_url=nats.url,
        stream_partitions=PARTITIONS,
        background_workers=False,
    )


@pytest.fixture
def api(settings: Settings) -> Iterator[Container]:
    container = build(settings.model_copy(update={"role": "api"}))
    yield container
    container.close()


def _workers(settings: Settings, count: int = 2) -> list[Worker]:
    return [
        build_worker(settings, partitions=share_of(i, workers=count, partitions=PARTITIONS))
        for i in range(count)
    ]


def _post(api: Container, minute: int, levels: dict[str, float]) -> IngestResult:
    """One batch of every gauge at one moment, through the API role's validation and commit."""
    at = T0 + 60 * minute
    raw = RawObservations(
        list(levels),
        np.full(len(levels), at, dtype=np.int64),
        np.array(list(levels.values()), dtype=np.float64),
    )
    batch = api.ingest.validate(raw, principal=SYSTEM)
    return api.committer.submit(batch).result(timeout=30)


def _post_until_taken(api: Container, minute: int, levels: dict[str, float]) -> IngestResult:
    """Post as a client does: again after each 503's Retry-After (bounded)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return _post(api, minute, levels)
        except Unavailable as err:
            if time.monotonic() > deadline:
                raise
            time.sleep(min(err.retry_after_s, 0.2))


def _drain(workers: list[Worker]) -> int:
    """Run every worker until a round commits nothing; the messages committed."""
    total = 0
    while (done := sum(w.loop.run_once() for w in workers)) > 0:
        total += done
    return total


def _levels(minute: int) -> dict[str, float]:
    values = (1.0, 3.5, 4.5, 5.5)
    return {code: values[(minute + i) % 4] for i, code in enumerate(codes(PLAN))}


def test_batches_spanning_partitions_are_stored_and_evaluated_once(
    api: Container, settings: Settings
) -> None:
    answers = [_post(api, m, _levels(m)) for m in range(5)]
    assert [(a.received, a.evaluated) for a in answers] == [(8, 0)] * 5  # evaluated later
    spanned = {partition_of(c, PARTITIONS) for c in codes(PLAN)}
    assert len(spanned) > 1  # the batches really are split
    workers = _workers(settings)
    try:
        for w in workers:
            w.loop.resume()
        assert _drain(workers) == 5 * len(spanned)
        check = workers[0].container
        stored = stored_observations(check)
        for i, code in enumerate(codes(PLAN)):
            want = [(T0 + 60 * m, _levels(m)[code]) for m in range(5)]
            assert list(zip(*stored[code], strict=True)) == want, (i, code)
        transitions = stored_transitions(check)
        assert transitions  # the levels move: warnings were raised and changed
        assert transitions == clean_replay(check)
        with check.store.transaction() as tx:
            offsets = tx.checkpoints.stream_offsets()
        assert set(offsets) == spanned
    finally:
        for w in workers:
            w.close()


def test_a_restarted_worker_resumes_from_its_committed_offset_not_the_acknowledgements(
    api: Container, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _post(api, 0, _levels(0))
    first = build_worker(settings, partitions=tuple(range(PARTITIONS)))
    first.loop.resume()
    # committed but never acknowledged: the stream would deliver these again
    monkeypatch.setattr(first.reader, "acknowledge", lambda _messages: None)
    committed = _drain([first])
    first.close()
    _post(api, 1, _levels(1))
    second = build_worker(settings, partitions=tuple(range(PARTITIONS)))
    try:
        second.loop.resume()
        assert _drain([second]) == committed  # only the second batch's parts
        stored = stored_observations(second.container)
        assert all(len(times) == 2 for times, _ in stored.values())
        assert stored_transitions(second.container) == clean_replay(second.container)
    finally:
        second.close()


def test_a_failed_transaction_is_not_acknowledged_and_is_committed_when_tried_again(
    api: Container, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _post(api, 0, _levels(0))
    worker = build_worker(settings, partitions=tuple(range(PARTITIONS)))
    try:
        worker.loop.resume()
        real = worker.loop.ingest.ingest_along
        calls: list[int] = []

        def fail_once(work: object) -> IngestResult:
            calls.append(1)
            if len(calls) == 1:
                raise Unavailable("the database went away")
            return real(work)  # type: ignore[arg-type]

        monkeypatch.setattr(worker.loop.ingest, "ingest_along", fail_once)
        with pytest.raises(Unavailable):
            worker.loop.run_once()
        assert stored_observations(worker.container) == {}
        _drain([worker])
        stored = stored_observations(worker.container)
        assert sorted(stored) == sorted(codes(PLAN))
        assert all(len(times) == 1 for times, _ in stored.values())
    finally:
        worker.close()


def test_a_message_that_cannot_be_stored_holds_its_partition_after_those_before_it(
    api: Container, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for minute in range(3):  # three messages wait in each partition: one group each
        _post(api, minute, _levels(minute))
    worker = build_worker(settings, partitions=tuple(range(PARTITIONS)))
    try:
        worker.loop.resume()
        held = min(partition_of(c, PARTITIONS) for c in codes(PLAN))
        real = decode
        seen: list[int] = []  # the held partition's sequences, as they are decoded

        def refuse_second(data: bytes, *, where: str) -> Any:
            rows = real(data, where=where)
            if where.startswith(f"partition {held} "):
                sequence = int(where.split()[-1])
                seen.extend([] if sequence in seen else [sequence])
                if len(seen) > 1 and sequence == seen[1]:
                    raise InvalidInput([Problem(where, "indicator", "refused by the test")])
            return rows

        monkeypatch.setattr("tocsin.services.stream_worker.decode", refuse_second)
        with pytest.raises(InvalidInput):
            worker.loop.run_once()
        assert len(seen) == 2  # the group stopped at the second; alone, the first is stored
        assert worker.loop.offsets[held] == seen[0]  # the one before it is stored
        stored = stored_observations(worker.container)
        in_held = [c for c in codes(PLAN) if partition_of(c, PARTITIONS) == held]
        assert all(stored[c][0] == [T0] for c in in_held)
        monkeypatch.setattr("tocsin.services.stream_worker.decode", real)
        _drain([worker])
        stored = stored_observations(worker.container)
        assert all(len(stored[c][0]) == 3 for c in codes(PLAN))
        assert stored_transitions(worker.container) == clean_replay(worker.container)
    finally:
        worker.close()


def test_a_stream_that_is_down_refuses_writes_503_and_takes_them_again_once_back(
    api: Container, settings: Settings, nats: NatsServer
) -> None:
    _post(api, 0, _levels(0))
    nats.kill()
    with pytest.raises(Unavailable) as refused:
        _post(api, 1, _levels(1))
    assert refused.value.retry_after_s >= 1
    nats.start()  # the same store: what it acknowledged is still there
    _post_until_taken(api, 1, _levels(1))
    _post(api, 1, _levels(1))  # the client's retry of an answered batch: appended once
    workers = _workers(settings)
    try:
        for w in workers:
            w.loop.resume()
        _drain(workers)
        stored = stored_observations(workers[0].container)
        assert all(times == [T0, T0 + 60] for times, _ in stored.values())
    finally:
        for w in workers:
            w.close()


def test_each_worker_checks_its_own_partitions_for_silent_sources(
    api: Container, settings: Settings
) -> None:
    """The indicators with a cadence are watched by the worker owning their partition, and
    by no other; a silent one raises "source silent" there, and lifts once observed again."""
    watched = {"D11.river_level", "D12.river_level"}  # the scenario's gauges with a 600 s cadence
    workers = _workers(settings)
    try:
        pairs = [
            (str(w.container.rules.by_id[i].code), n)
            for n, w in enumerate(workers)
            for i, _ in w.silence.watched
        ]
        assert sorted(code for code, _ in pairs) == sorted(watched)  # each once, by one worker
        owners = dict(pairs)
        for code, n in owners.items():
            share = share_of(n, workers=2, partitions=PARTITIONS)
            assert partition_of(code, PARTITIONS) in share
        levels = {"D11.river_level": 1.0, "D12.river_level": 1.0}
        _post(api, 0, levels)
        for w in workers:
            w.loop.resume()
        _drain(workers)
        owner = workers[owners["D11.river_level"]]
        late = datetime.fromtimestamp(T0 + 3_600 * 24, UTC)  # a day without observations
        raised = [e for w in workers for e in w.silence.check(late)]
        assert [e.kind for e in raised] == [EventKind.RAISED] * 2
        named = {
            code for code in watched for e in raised if f"no observation of {code}" in e.reason
        }
        assert named == watched
        assert owner.silence.check(late) == []  # raised once: already open
        _post(api, 24 * 60, levels)  # observed again
        _drain(workers)
        lifted = [e for w in workers for e in w.silence.check(late)]
        assert [e.kind for e in lifted] == [EventKind.LIFTED] * 2
        for leadership in owner.leases.values():  # the owner loses its partitions
            leadership.release()
        with pytest.raises(NotOwner):  # it may not raise warnings for them any more
            owner.silence.check(datetime.fromtimestamp(T0 + 3_600 * 48, UTC))
    finally:
        for w in workers:
            w.close()


def test_a_second_worker_for_an_owned_partition_is_refused_and_stores_nothing(
    api: Container, settings: Settings
) -> None:
    """One owner per partition: a worker started for partitions another holds is refused by
    name at start, and its commits are fenced even if it skips that check; once the owner
    stops (and gives its leases up), the second takes the partitions over."""
    _post(api, 0, _levels(0))
    everything = tuple(range(PARTITIONS))
    first = build_worker(settings, partitions=everything)
    second = build_worker(settings, partitions=everything)
    try:
        first.hold_partitions(wait=timedelta(0))
        with pytest.raises(NotOwner) as refused:
            second.hold_partitions(wait=timedelta(0))
        assert "is owned by another worker" in str(refused.value)
        assert refused.value.owner  # names the holder
        second.loop.resume()
        with pytest.raises(NotOwner):
            second.loop.run_once()
        assert stored_observations(second.container) == {}
        first.close()
        second.loop.resume()
        assert _drain([second]) > 0
        assert sorted(stored_observations(second.container)) == sorted(codes(PLAN))
    finally:
        second.close()
        first.close()


def test_a_worker_reports_its_health_and_metrics_and_fails_its_check_while_nats_is_down(
    api: Container, settings: Settings, nats: NatsServer
) -> None:
    worker = build_worker(settings, partitions=tuple(range(PARTITIONS)))
    stop = threading.Event()
    loop = threading.Thread(target=worker.loop.run, args=(stop,), daemon=True)
    port = free_port()
    _server, stop_status = serve_status(worker.loop.status, "127.0.0.1", port)
    base = f"http://127.0.0.1:{port}"

    def health() -> httpx.Response:
        return httpx.get(base + "/healthz", timeout=5)

    def until(predicate: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 30
        while not predicate():
            assert time.monotonic() < deadline, what
            time.sleep(0.1)

    try:
        assert health().status_code == 503  # no pass yet
        assert health().json()["reason"] == "no pass yet"
        loop.start()
        _post_until_taken(api, 0, _levels(0))  # as a client: its worker starts beside it
        until(lambda: worker.loop.committed > 0, "nothing committed")
        until(lambda: health().status_code == 200, "not healthy")
        body = health().json()
        assert body["status"] == "ok"
        assert body["partitions"] == list(range(PARTITIONS))
        assert body["committed_messages"] == worker.loop.committed
        metrics = httpx.get(base + "/metrics", timeout=5).text
        assert f"tocsin_worker_messages_committed_total {worker.loop.committed}" in metrics
        assert f"tocsin_worker_partitions_owned {PARTITIONS}" in metrics
        assert "tocsin_worker_healthy 1" in metrics
        assert httpx.get(base + "/other", timeout=5).status_code == 404
        nats.kill()  # the stream goes away: the check fails, saying why
        until(lambda: health().status_code == 503, "still healthy with NATS down")
        assert health().json()["reason"].startswith("unavailable")
        assert "tocsin_worker_healthy 0" in httpx.get(base + "/metrics", timeout=5).text
        nats.start()  # and back: healthy again, and the next batch committed
        until(lambda: health().status_code == 200, "not healthy again")
        before = worker.loop.committed
        _post_until_taken(api, 1, _levels(1))
        until(lambda: worker.loop.committed > before, "nothing committed after NATS came back")
    finally:
        stop.set()
        loop.join(timeout=30)
        stop_status()
        worker.close()
