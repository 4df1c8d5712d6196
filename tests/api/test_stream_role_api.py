"""`POST /api/v1/observations` in the API role (a real nats-server): the same validation as a
single process (a bad batch is refused whole, nothing appended), 202 once the stream holds
the batch, 503 with Retry-After while the stream is down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Api, obs, serve_api, table_counts
from tocsin.testing.nats import NatsServer, nats_server

ROWS = [obs("D11.river_level", 0, 4.2), obs("D21.reservoir", 0, 55.0)]


@pytest.fixture
def nats() -> Iterator[NatsServer]:
    with nats_server() as server:
        yield server


@pytest.fixture
def api(sqlite_url: str, tmp_path: Path, nats: NatsServer) -> Iterator[Api]:
    with serve_api(
        sqlite_url, tmp_path, role="api", stream_url=nats.url, stream_partitions=4
    ) as served:
        yield served


def test_an_accepted_batch_is_answered_once_appended_and_not_stored_by_the_api(api: Api) -> None:
    before = table_counts(api.container)
    answer = api.client.post("/api/v1/observations", json={"observations": ROWS})
    assert answer.status_code == 202
    assert answer.json() == {"received": 2, "evaluated": 0, "warnings_changed": 0}
    assert table_counts(api.container) == before  # the workers store it
    assert api.container.committer.stats.rows == 2


def test_a_bad_batch_is_refused_whole_with_the_same_problems_as_one_process(api: Api) -> None:
    bad = [*ROWS, obs("nope", 1, 1.0), obs("D11.river_level", 2, "x")]
    answer = api.client.post("/api/v1/observations", json={"observations": bad})
    assert answer.status_code == 422
    assert api.container.committer.stats.rows == 0  # nothing appended


def test_a_stream_that_is_down_is_a_503_with_retry_after(api: Api, nats: NatsServer) -> None:
    nats.kill()
    answer = api.client.post("/api/v1/observations", json={"observations": ROWS})
    assert answer.status_code == 503
    assert int(answer.headers["Retry-After"]) >= 1
    assert "stream" in answer.json()["detail"]
