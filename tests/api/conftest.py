"""An API client over a freshly built container (SQLite or PostgreSQL) with a small scenario."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tocsin.api.app import create_app
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.users import Role
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import write_small_config


@dataclass
class Api:
    """A test client plus the container behind it and a duty officer's token."""

    client: TestClient
    container: Container
    headers: dict[str, str]
    clock: FakeClock


@pytest.fixture
def api(db_url: str, tmp_path: Path) -> Iterator[Api]:
    config = write_small_config(tmp_path / "config")
    clock = FakeClock()
    container = build(Settings(database_url=db_url, config_dir=config), clock=clock)
    container.admin.add_user("duty", Role.DUTY_OFFICER, unit=None, actor="test")
    token = container.admin.issue_token("duty", label="test", actor="test")
    with TestClient(create_app(container)) as client:
        yield Api(client, container, {"Authorization": f"Bearer {token}"}, clock)
    container.close()
