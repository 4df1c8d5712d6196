"""An API client over a freshly built container (SQLite or PostgreSQL) with a small scenario."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Table, func, select

from tocsin.adapters.storage.alerting_tables import alerting_metadata
from tocsin.adapters.storage.exposure_tables import exposure_metadata
from tocsin.adapters.storage.report_tables import report_metadata
from tocsin.adapters.storage.rollup_tables import rollup_metadata
from tocsin.adapters.storage.sql.store import SqlStore
from tocsin.adapters.storage.tables import metadata
from tocsin.api.app import create_app
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.users import Role
from tocsin.services.access import TokenRequest
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import write_small_config

T = 1_767_225_600  # 2026-01-01T00:00:00Z


@dataclass
class Api:
    """A test client (sending a national duty officer's token unless a request names other
    headers), a client without credentials, the container behind them and the token's headers."""

    client: TestClient
    container: Container
    headers: dict[str, str]
    clock: FakeClock
    anonymous: TestClient

    def token_for(self, name: str, role: Role, unit: str | None = "NAT") -> dict[str, str]:
        """Headers with a new user's token (a member of `unit`; NAT is national)."""
        self.container.admin.add_user(name, role, unit=unit, actor="test")
        token = self.container.access.issue(name, TokenRequest("test"), actor="test")[1]
        return {"Authorization": f"Bearer {token}"}


def every_table() -> list[Table]:
    """Every table of the store (each concept's metadata): what the tests that check
    "nothing was stored" look at (row counts here, the bad-input corpus's row digests)."""
    return [
        *metadata.sorted_tables,
        *alerting_metadata.sorted_tables,
        *exposure_metadata.sorted_tables,
        *report_metadata.sorted_tables,
        *rollup_metadata.sorted_tables,
    ]


def table_counts(container: Container) -> dict[str, int]:
    """Rows in every table: a request that stores nothing leaves these unchanged."""
    store = container.store
    assert isinstance(store, SqlStore)  # the API tests run on SQLite
    with store.engine.connect() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in every_table()
        }


def obs(indicator: str, minute: int, value: Any) -> dict[str, Any]:
    """An observation `minute` minutes after T."""
    return {"indicator": indicator, "time": T + 60 * minute, "value": value}


def build_container(
    db_url: str,
    tmp_path: Path,
    *,
    docs: dict[str, Any] | None = None,
    sources: dict[str, Any] | None = None,
    now: datetime | None = None,
    **settings: Any,
) -> tuple[Container, FakeClock]:
    """The small scenario on `db_url` (with this sources.yaml, this clock), extra settings."""
    config = write_small_config(tmp_path / "config", **(docs or {}))
    if sources is not None:
        (config / "sources.yaml").write_text(yaml.safe_dump(sources), encoding="utf-8")
    clock = FakeClock(now) if now is not None else FakeClock()
    container = build(Settings(database_url=db_url, config_dir=config, **settings), clock=clock)
    return container, clock


@contextmanager
def serve_api(db_url: str, tmp_path: Path, **options: Any) -> Iterator[Api]:
    """The API over the small scenario, with a duty officer's token (options: those of
    `build_container`)."""
    container, clock = build_container(db_url, tmp_path, **options)
    container.admin.add_user("duty", Role.DUTY_OFFICER, unit="NAT", actor="test")
    token = container.access.issue("duty", TokenRequest("test"), actor="test")[1]
    headers = {"Authorization": f"Bearer {token}"}
    app = create_app(container)
    try:
        with TestClient(app, headers=headers) as client, TestClient(app) as anonymous:
            yield Api(client, container, headers, clock, anonymous)
    finally:
        container.close()


@pytest.fixture
def api(db_url: str, tmp_path: Path) -> Iterator[Api]:
    with serve_api(db_url, tmp_path) as served:
        yield served


def assert_problem(
    response: Any, status: int, problems: list[tuple[str, str, str]] | None = None
) -> dict[str, Any]:
    """The response is a Problem body with this status (and exactly these problems, if given:
    (where, field, reason substring) each)."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"detail", "problems"}
    assert isinstance(body["detail"], str)
    assert body["detail"]
    if problems is not None:
        got = [(p["where"], p["field"], p["reason"]) for p in body["problems"]]
        assert len(got) == len(problems), got
        for (where, field, reason), (gw, gf, gr) in zip(problems, got, strict=True):
            assert (gw, gf) == (where, field), got
            assert reason in gr, (reason, gr)
    return body
