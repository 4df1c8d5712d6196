"""Grouping that helps in a storm (issue 22): when every cell of three districts crosses its red
threshold at once, each district's flood service gets one message naming its 300 cells, while
all 900 warnings are recorded and open at once; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np

from tests.scenarios.warning_timeline import T0, RecordingNotifier
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.warnings.outbox import Channel
from tocsin.services.ingest import RawObservations
from tocsin.testing.clock import FakeClock
from tocsin.testing.grid import Grid, write_grid_config

SYSTEM = system_principal("test")

GRID = Grid(cells=900, per_district=300)
ROUTES = {
    "route": {
        "group_by": ["region_district", "domain"],
        "group_wait_s": 30,
        "group_interval_s": 300,
    }
}


def test_a_district_unit_gets_one_message_naming_its_300_cells(tmp_path: Path, db_url: str) -> None:
    config = write_grid_config(
        tmp_path / "config", GRID, webhook_url="http://127.0.0.1:9/hook", routes=ROUTES
    )
    clock = FakeClock(T0)
    channel = RecordingNotifier()
    channel.clock = clock
    container = build(
        Settings(database_url=db_url, config_dir=config, background_workers=False),
        clock=clock,
        channels={Channel.WEBHOOK: channel},
    )
    try:
        codes = [GRID.indicator(i) for i in range(GRID.cells)]
        moment = np.full(GRID.cells, int(T0.timestamp()), dtype=np.int64)
        container.ingest.ingest(
            RawObservations(codes, moment, np.full(GRID.cells, 5.5)), principal=SYSTEM
        )
        container.leases.dispatch.require()  # only the dispatch lease's owner dispatches
        # every warning is recorded and open at once, before any message goes out
        assert container.warnings.counts(principal=SYSTEM) == {("red", "active"): GRID.cells}
        container.dispatcher.tick(clock.now())
        container.delivery.run_once(clock.now())
        assert channel.sent == []  # the district's cells are still being gathered
        clock.advance(timedelta(seconds=31))
        container.leases.dispatch.require()  # renewed, as the lease keeper does
        container.dispatcher.tick(clock.now())
        container.delivery.run_once(clock.now())
        by_receiver = {n.receiver: n for _, n in channel.sent}
        assert len(channel.sent) == GRID.districts  # one message per district, not 900
        assert sorted(by_receiver) == ["D001-FLOOD", "D002-FLOOD", "D003-FLOOD"]
        open_warnings = container.warnings.find(limit=GRID.cells, principal=SYSTEM)
        district_of = {str(w.id): str(w.region) for w in open_warnings}
        for receiver, note in by_receiver.items():
            district = receiver.removesuffix("-FLOOD")
            assert len(note.warning_ids) == GRID.per_district
            cells = {district_of[i] for i in note.warning_ids}
            assert {GRID.district_of(int(c[1:]) - 1) for c in cells} == {district}
            assert note.subject == f"[RED] natural.flood in {district}: 300 warnings (300 red)"
            assert note.payload["counts"]["firing"] == {"red": GRID.per_district}
    finally:
        container.close()
