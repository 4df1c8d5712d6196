"""What the collector tests share: a served Tocsin with a sources.yaml, a token, polling."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.users import Role
from tocsin.services.access import TokenRequest
from tocsin.testing.scenario import write_small_config
from tocsin.web.app import create_web_app
from tocsin.web.server import serving

DEADLINE_S = 90.0


@dataclass
class Served:
    """A running Tocsin: its base URL, container and a duty officer's token."""

    url: str
    container: Container
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """Authorization headers."""
        return {"Authorization": f"Bearer {self.token}"}

    def series(self, code: str) -> tuple[list[int], list[float]]:
        """An indicator's stored times and values."""
        url = f"{self.url}/api/v1/indicators/{code}/observations"
        got = httpx.get(url, headers=self.headers, timeout=10).json()
        return got["times"], got["values"]

    def sources(self) -> dict[str, dict[str, Any]]:
        """GET /api/v1/sources by kind."""
        found = httpx.get(f"{self.url}/api/v1/sources", headers=self.headers, timeout=10).json()
        return {s["kind"]: s for s in found}


def free_port() -> int:
    """A TCP port free on the loopback interface just now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def eventually(predicate: Callable[[], bool], timeout: float = DEADLINE_S) -> bool:
    """Poll until the predicate holds (True) or the time is up (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        threading.Event().wait(0.1)
    return predicate()


@contextmanager
def served_with_sources(
    tmp_path: Path, sources: dict[str, Any], *, db_url: str | None = None, **settings: Any
) -> Iterator[Served]:
    """Tocsin over the small scenario with this sources.yaml, served on a free port (with
    more `settings`)."""
    config = write_small_config(tmp_path / "config")
    (config / "sources.yaml").write_text(yaml.safe_dump(sources), encoding="utf-8")
    url = db_url or f"sqlite:///{tmp_path / 'tocsin.db'}"
    container = build(Settings(database_url=url, config_dir=config, **settings))
    container.admin.add_user("duty", Role.DUTY_OFFICER, unit="NAT", actor="test")
    token = container.access.issue("duty", TokenRequest("test"), actor="test")[1]
    try:
        with serving(create_web_app(container, risk=None)) as base:
            yield Served(base, container, token)
    finally:
        container.close()
