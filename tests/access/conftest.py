"""The served world of the access tests: one per database (SQLite, PostgreSQL) for each test
module, every log line from its seeding on kept (`World.log`) for the scan of secrets in logs.
A module's own world: the matrix's writes (a task given to another unit for a while, a public
alert published) change what a principal may legitimately see, so the attacker's search for
leaks must not depend on whether the matrix ran before it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.access.matrix import PLACES
from tests.access.world import INDICATORS, Thing, World, served_world
from tocsin.testing.logs import captured_log
from tocsin.testing.postgres import create_database


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One served world per database, its log captured from its first line."""
    folder = tmp_path_factory.mktemp(f"matrix-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'matrix.db'}"
    else:
        url = create_database(request.getfixturevalue("pg_server"), "m_" + uuid.uuid4().hex[:12])
    with captured_log() as log, served_world(folder, url) as served:
        served.log = log
        served.things += [Thing("risk", r, r, None) for r in ("N", "P1", "P2", "D11", "D21")]
        served.things += [
            Thing(PLACES, f"{r}/{d}", r, d)
            for r, d in {(v[0], v[1]) for v in INDICATORS.values()} | {("D21", "supply.water")}
        ]
        served.things.append(Thing("deployment", "all", None, None))
        yield served
