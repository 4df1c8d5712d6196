"""Browser tests: the dashboard served by uvicorn on 127.0.0.1, driven by Debian's Chromium.

Every request the page makes goes through `page.route`; any whose host is not 127.0.0.1 is
aborted and recorded, and the test fails at teardown. Screenshots go to a temporary directory,
and also to `$TOCSIN_SCREENSHOTS` when it is set (the README's pictures are made that way).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
from playwright.sync_api import expect

from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.observations import ObservationBatch
from tocsin.core.users import Role
from tocsin.demo.scenario import RISK_MODEL, RISK_TABLE, replay_chunks, write_config
from tocsin.services.access import TokenRequest
from tocsin.testing.chromium import CHROMIUM, CHROMIUM_ARGS
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import write_small_config
from tocsin.web.app import create_web_app
from tocsin.web.risk import RiskSources
from tocsin.web.server import serving

T = 1_767_225_600  # 2026-01-01T00:00:00Z
LOCAL_SCHEMES = frozenset({"data", "blob", "about"})
# How long an expectation waits for the page (not a timing assertion): Playwright's 5 s is too
# short for plotly.js or a 10,000-region catalogue on a 2-core machine shared by several jobs.
expect.set_options(timeout=20_000)


@dataclass
class Served:
    """A running dashboard: its base URL, the container behind it and a duty officer's token."""

    url: str
    container: Container
    token: str

    def ingest(self, rows: list[tuple[str, int, float]]) -> None:
        """Store observations (indicator code, epoch seconds, value) and evaluate the rules."""
        ids = self.container.rules.ids
        self.container.ingest.ingest_batch(
            ObservationBatch(
                np.array([ids[c] for c, _, _ in rows], dtype=np.int64),
                np.array([t for _, t, _ in rows], dtype=np.int64),
                np.array([v for _, _, v in rows], dtype=np.float64),
            )
        )


@contextmanager
def serve(container: Container, *, risk: Any = None) -> Iterator[str]:
    """Serve the dashboard over `container` on a free loopback port; yield its base URL.

    `risk` goes to `create_web_app` (None: no risk model; the small scenario's regions are not
    in INFORM anyway).
    """
    with serving(create_web_app(container, risk=risk, live_max_stream_for=30.0)) as url:
        yield url


def small_container(tmp_path: Path, docs: dict[str, Any] | None = None) -> tuple[Container, str]:
    """The small scenario (or these documents of it) on a fresh SQLite file, with a duty
    officer and their token."""
    config = write_small_config(tmp_path / "config", **(docs or {}))
    container = build(
        Settings(database_url=f"sqlite:///{tmp_path / 'tocsin.db'}", config_dir=config),
        clock=FakeClock(),
    )
    container.admin.add_user("duty", Role.DUTY_OFFICER, unit="NAT", actor="test")
    token = container.access.issue("duty", TokenRequest("test"), actor="test")[1]
    return container, token


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The small scenario served, with warnings raised: red in D11, yellow in D21, orange in P1."""
    container, token = small_container(tmp_path)
    result = Served("", container, token)
    result.ingest(
        [("D11.river_level", T, 5.5), ("D21.reservoir", T, 25.0), ("P1.rainfall", T, 45.0)]
    )
    with serve(container) as url:
        result.url = url
        yield result
    container.close()


@dataclass(frozen=True)
class Demo:
    """The demo scenario served: its base URL, configuration folder and a duty officer's token."""

    url: str
    config: Path
    token: str


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo scenario (packaged data, ending now) replayed into SQLite and served once for
    the session, with INFORM risk as `tocsin demo` serves it."""
    work = tmp_path_factory.mktemp("demo")
    series = write_config(work / "config", end_at=int(time.time()) // 60 * 60)
    container = build(  # every browser context of the session signs in from 127.0.0.1
        Settings(
            database_url=f"sqlite:///{work / 'tocsin.db'}",
            config_dir=work / "config",
            sign_in_per_minute=0,
            env="dev",  # built before each test's environment: a development deployment
        )
    )
    container.admin.add_user("duty", Role.DUTY_OFFICER, unit="DESK", actor="test")
    token = container.access.issue("duty", TokenRequest("test"), actor="test")[1]
    chunks = replay_chunks(series, container.rules.ids, chunk_seconds=6 * 3600)
    container.ingest.ingest_chunks(ObservationBatch(ids, t, v) for _, ids, t, v in chunks)
    risk = RiskSources(work / RISK_MODEL, work / RISK_TABLE)
    with serve(container, risk=risk) as url:
        yield Demo(url, work / "config", token)
    container.close()


@dataclass
class Guard:
    """Requests the page tried to send off the loopback address."""

    blocked: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless (Playwright cannot download browsers here)."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _guarded(context: Any, guard: Guard) -> None:
    def route(route: Any) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES or parts.hostname == "127.0.0.1":
            route.continue_()
        else:
            guard.blocked.append(url)
            route.abort()

    context.route("**/*", route)


@contextmanager
def guarded_page(
    browser: Any, *, sign_in: tuple[str, str] | None = None, **context_args: Any
) -> Iterator[tuple[Any, Guard]]:
    """A fresh browser context and page whose every non-local request fails the test; with
    `sign_in` (base URL, API token) the context holds a session cookie opened with the token."""
    context = browser.new_context(service_workers="block", **context_args)
    guard = Guard()
    _guarded(context, guard)
    if sign_in is not None:
        url, token = sign_in
        opened = context.request.post(url + "/api/v1/session", data={"token": token})
        assert opened.ok, opened.text()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        yield page, guard
    finally:
        context.close()
    assert guard.blocked == [], f"requests left 127.0.0.1: {guard.blocked}"
    assert errors == [], f"the page raised: {errors}"


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    """A guarded page at 1366×768 (the duty desk's smallest screen), signed in as the served
    scenario's duty officer."""
    with guarded_page(
        browser, sign_in=(served.url, served.token), viewport={"width": 1366, "height": 768}
    ) as (page, _):
        yield page


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Save a screenshot of the page under a name (tmp dir, and $TOCSIN_SCREENSHOTS if set)."""
    tmp = tmp_path_factory.mktemp("screenshots")
    extra = os.environ.get("TOCSIN_SCREENSHOTS")

    def save(page: Any, name: str) -> Path:
        path = tmp / f"{name}.png"
        page.screenshot(path=str(path))
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(extra) / path.name)
        return path

    return save
