"""The stream roles end to end: `tocsin serve --role api` and two `tocsin worker` processes
(real subprocesses) on PostgreSQL and a real nats-server with JetStream.

Without faults, then with SIGKILLs of a worker or the API process at random moments (seeded:
a few seeds here; `TOCSIN_STREAM_SEEDS=N` runs N more): every acknowledged observation is
stored once and the warning transitions equal a clean replay and a model fed the acknowledged
batches one by one (`tests/e2e/stream_faults.py`). Then with two `notify run` processes and a
webhook receiver, on a PostgreSQL server of the test's own, kills of every kind of process
(API, worker, the dispatcher holding the lease, the standby, nats-server, PostgreSQL): every
transition also notified once, under one key. And with workers that share the partitions
themselves (rebalancing), while one joins, one leaves and kills land."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import running_sink
from tests.e2e.stream_faults import StreamPlan, StreamRun
from tocsin.testing.nats import NatsServer
from tocsin.testing.postgres import PgCluster, create_database, pg_cluster

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CI_SEEDS = (1, 2)
MORE_SEEDS = tuple(range(100, 100 + int(os.environ.get("TOCSIN_STREAM_SEEDS", "0"))))


def test_batches_through_the_api_and_workers_are_stored_and_evaluated_once(
    pg_url: str, nats: NatsServer, tmp_path: Path
) -> None:
    outcome = StreamRun(StreamPlan(seed=0, kill_chance=0.0), pg_url, nats, tmp_path).run()
    assert outcome.problems == []
    assert outcome.acknowledged == 12
    assert outcome.checks > 8


@pytest.mark.sampled(1 + len(MORE_SEEDS))  # one of the CI seeds a run, and every one asked for
@pytest.mark.parametrize("seed", CI_SEEDS + MORE_SEEDS)
def test_kills_of_workers_and_the_api_keep_every_invariant(
    seed: int, pg_url: str, nats: NatsServer, tmp_path: Path
) -> None:
    outcome = StreamRun(StreamPlan(seed=seed, batches=8), pg_url, nats, tmp_path).run()
    assert outcome.problems == []
    assert sum(outcome.kills.values()) > 0  # the seed's kills landed


@pytest.mark.sampled(1 + len(MORE_SEEDS))  # one of the CI seeds a run, and every one asked for
@pytest.mark.parametrize("seed", [3, 4, *MORE_SEEDS])
def test_balanced_workers_joining_leaving_and_killed_keep_every_invariant(
    seed: int, pg_url: str, nats: NatsServer, tmp_path: Path
) -> None:
    """Workers without fixed partitions: a third joins and the first leaves while batches
    come and kills land; the partitions move between them with their state."""
    plan = StreamPlan(seed=seed, batches=12, balanced=True)
    outcome = StreamRun(plan, pg_url, nats, tmp_path).run()
    assert outcome.problems == []
    assert sum(outcome.kills.values()) > 0  # the seed's kills landed


@pytest.fixture
def own_postgres() -> Iterator[PgCluster]:
    """A PostgreSQL server of the test's own, durable (fsync on), that the chaos may kill."""
    with pg_cluster(durable=True) as cluster:
        yield cluster


@pytest.mark.parametrize("seed", [6, 19, *MORE_SEEDS])  # 6 and 19: every kind of kill
def test_kills_of_every_role_and_the_servers_keep_every_notification_invariant(
    seed: int, own_postgres: PgCluster, nats: NatsServer, tmp_path: Path
) -> None:
    """With two `notify run` processes (one dispatching, one standing by) and a webhook
    receiver: kills of the API process, a worker, the dispatcher, the standby, nats-server and
    PostgreSQL; every transition notified once, no key with two bodies, the outbox delivered."""
    db = create_database(own_postgres.url, "chaos")
    with running_sink() as sink:
        plan = StreamPlan(seed=seed, batches=8, notifiers=2, kill_chance=0.6)
        outcome = StreamRun(plan, db, nats, tmp_path, sink=sink, postgres=own_postgres).run()
    assert outcome.problems == []
    assert sum(outcome.kills.values()) > 0, outcome.kills
    assert outcome.checks > 20
