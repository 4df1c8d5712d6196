"""PostgreSQL's weekly observation partitions: bulk loads, rollback, two writers, migration."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from tocsin.adapters.config_yaml import load_catalog
from tocsin.adapters.storage.engine import MIGRATIONS, make_engine, migrate
from tocsin.adapters.storage.partitions import WEEK_S, partition_name
from tocsin.adapters.storage.sql.store import SqlStore
from tocsin.core.observations import ObservationBatch
from tocsin.testing.scenario import write_small_config

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(pg_url: str, tmp_path: Path) -> Iterator[SqlStore]:
    engine = make_engine(pg_url)
    migrate(engine)
    s = SqlStore(engine, write_buffer_rows=1)  # every write reaches the server at once
    with s.transaction() as tx:
        tx.catalog.sync(load_catalog(write_small_config(tmp_path / "cfg")))
    yield s
    s.close()


def batch(ids: list[int], times: list[int], values: list[float]) -> ObservationBatch:
    return ObservationBatch(
        np.array(ids, dtype=np.int64),
        np.array(times, dtype=np.int64),
        np.array(values, dtype=np.float64),
    )


def partitions(store: SqlStore) -> list[str]:
    query = (
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'observations'::regclass ORDER BY 1"
    )
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(text(query))]


def test_each_week_is_a_partition_with_its_primary_key(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.observations.write(batch([0, 0, 1], [-1, 2 * WEEK_S + 5, 2 * WEEK_S], [1.0, 2.0, 3.0]))
    assert partitions(store) == sorted([partition_name(-1), partition_name(2)])
    assert partition_name(-1) == "observations_wm1"
    with store.engine.connect() as conn:
        indexes = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE tablename = :t"),
            {"t": partition_name(2)},
        ).scalars()
        # built at commit, with room left in each leaf for the rows that continue the week
        expected = "btree (indicator_id, ts) WITH (fillfactor='70')"
        assert [d.split(" USING ")[1] for d in indexes] == [expected]
        with pytest.raises(Exception, match="duplicate key"):
            conn.execute(text(f"INSERT INTO {partition_name(2)} VALUES (1, {2 * WEEK_S}, 0)"))


def test_a_key_loaded_twice_into_a_new_week_keeps_the_later_value(store: SqlStore) -> None:
    # two COPYs into the bare table: the primary key cannot be built until the earlier row goes
    with store.transaction() as tx:
        tx.observations.write(batch([0, 1], [100, 100], [1.0, 2.0]))
        tx.observations.write(batch([0, 0], [100, 160], [1.5, 1.7]))
    with store.transaction() as tx:
        assert tx.observations.read(0).values.tolist() == [1.5, 1.7]
        assert tx.observations.count() == 3
    assert partitions(store) == [partition_name(0)]


def test_a_rolled_back_bulk_load_leaves_no_table(store: SqlStore) -> None:
    def fail_midway() -> None:
        with store.transaction() as tx:
            tx.observations.write(batch([0], [5 * WEEK_S], [1.0]))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_midway()
    assert partitions(store) == []
    with store.engine.connect() as conn:
        name = partition_name(5)
        assert conn.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar() is None


def test_a_second_writer_of_a_new_week_waits_and_merges(store: SqlStore, pg_url: str) -> None:
    week = 3 * WEEK_S
    first_wrote = threading.Event()
    release_first = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with store.transaction() as tx:
                tx.observations.write(batch([0, 1], [week, week], [1.0, 1.0]))
                first_wrote.set()
                release_first.wait(30)
        except BaseException as err:  # reported by the test below
            errors.append(err)

    def second() -> None:
        try:
            with store.transaction() as tx:
                tx.observations.write(batch([0, 2], [week, week], [2.0, 2.0]))
        except BaseException as err:  # reported by the test below
            errors.append(err)

    t1 = threading.Thread(target=first)
    t1.start()
    assert first_wrote.wait(30)
    t2 = threading.Thread(target=second)
    t2.start()
    with psycopg.connect(pg_url) as watcher:
        deadline = time.monotonic() + 30
        waiting = 0
        while waiting == 0 and time.monotonic() < deadline:
            row = watcher.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()
            waiting = row[0] if row else 0
            time.sleep(0.02)
    assert waiting == 1  # the second writer queues behind the first one's bulk load
    release_first.set()
    t1.join(30)
    t2.join(30)
    assert errors == []
    with store.transaction() as tx:
        assert tx.observations.count() == 3
        assert tx.observations.read(0).values.tolist() == [2.0]  # the later commit wins
    assert partitions(store) == [partition_name(3)]


def test_migration_partitions_an_older_plain_table(pg_url: str) -> None:
    engine = make_engine(pg_url)
    migrate(engine)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
    with engine.begin() as conn:
        kind = conn.execute(
            text("SELECT relkind FROM pg_class WHERE oid = 'observations'::regclass")
        ).scalar()
        assert kind == "r"
        conn.execute(
            text("INSERT INTO observations VALUES (1, -3, 1.0), (1, 10, 2.0), (2, :t, 3.0)"),
            {"t": 4 * WEEK_S + 1},
        )
    migrate(engine)
    store = SqlStore(engine)
    assert partitions(store) == sorted(partition_name(w) for w in (-1, 0, 4))
    with store.transaction() as tx:
        assert tx.observations.read(1).times.tolist() == [-3, 10]
        assert tx.observations.count() == 3
        tx.observations.write(batch([1], [10], [2.5]))  # an attached week: the upsert path
    with store.transaction() as tx:
        assert tx.observations.read(1).values.tolist() == [1.0, 2.5]
    store.close()
