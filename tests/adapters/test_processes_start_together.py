"""Processes that start together on one database (`tocsin serve` beside `tocsin notify run`,
or several of them after a restart) each migrate it and store the catalogue. They must take
turns: on PostgreSQL the second one's insert met the first one's uncommitted rows and the
process died at start ("duplicate key value violates unique constraint regions_pkey").

Threads stand in for processes here: each builds its own container, with its own engine and
connections, on the same fresh database, released at the same moment."""

from __future__ import annotations

import threading
from pathlib import Path

from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.testing.scenario import write_small_config

STARTING = 4


def test_processes_starting_together_migrate_and_store_the_catalogue_in_turn(
    db_url: str, tmp_path: Path
) -> None:
    config = write_small_config(tmp_path / "config")
    settings = Settings(database_url=db_url, config_dir=config, background_workers=False)
    gate = threading.Barrier(STARTING)
    failures: list[BaseException] = []
    regions: list[int] = []

    def start() -> None:
        try:
            gate.wait(timeout=30)
            container = build(settings)
            try:
                regions.append(len(container.catalog.regions.regions))
            finally:
                container.close()
        except BaseException as err:  # collected and reported below
            failures.append(err)

    threads = [threading.Thread(target=start) for _ in range(STARTING)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert len(regions) == STARTING
    assert len(set(regions)) == 1
    again = build(settings)  # and the stored catalogue is whole: one copy of each region
    try:
        with again.store.transaction() as tx:
            stored = tx.catalog.stored()
        assert stored is not None
        assert set(stored.regions.regions) == set(again.catalog.regions.regions)
    finally:
        again.close()
