"""Shared fixtures: a throw-away PostgreSQL cluster, database URLs for both dialects, a NATS
server."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.share import FULL, SEED
from tocsin.core.detectors import DETECTORS, is_multivariate, make_detector
from tocsin.testing.nats import NatsServer, nats_server
from tocsin.testing.postgres import create_database, pg_bindir, postgres_cluster

REPO = Path(__file__).resolve().parents[1]
BENCHDATA = Path(os.environ.get("TOCSIN_BENCHDATA", REPO.parent / "shared" / "benchdata"))


def pytest_report_header(config: pytest.Config) -> str:
    if FULL:
        return "tocsin: every sampled case runs (TOCSIN_TEST_FULL=1)"
    return (
        f"tocsin: a seeded share of the long fault and fuzz cases runs (seed {SEED}); "
        "TOCSIN_TEST_SEED=S repeats a share, TOCSIN_TEST_FULL=1 runs them all"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep `k` cases of each family marked `sampled(k, family=…)` (a family is the test's
    cases unless named), chosen by the seed; the others are deselected, and counted."""
    families: dict[str, list[pytest.Item]] = {}
    sizes: dict[str, int] = {}
    for item in items:
        mark = item.get_closest_marker("sampled")
        if mark is None:
            continue
        family = str(mark.kwargs.get("family") or item.nodeid.split("[", 1)[0])
        families.setdefault(family, []).append(item)
        sizes[family] = int(mark.args[0] if mark.args else mark.kwargs.get("k", 1))
    if FULL or not families or any("::" in arg for arg in config.args):
        return  # every case, or the cases named on the command line
    dropped: set[str] = set()
    for family, members in families.items():
        members.sort(key=lambda item: item.nodeid)
        keep = random.Random(f"{SEED}/{family}").sample(members, min(sizes[family], len(members)))
        dropped.update(m.nodeid for m in members if m not in keep)
    gone = [item for item in items if item.nodeid in dropped]
    if gone:
        config.hook.pytest_deselected(items=gone)
        items[:] = [item for item in items if item.nodeid not in dropped]
    config.stash[SAMPLED] = (sum(map(len, families.values())) - len(gone), len(gone))


SAMPLED = pytest.StashKey[tuple[int, int]]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    kept, left = terminalreporter.config.stash.get(SAMPLED, (0, 0))
    if left:
        terminalreporter.write_line(
            f"tocsin: kept {kept} sampled long cases, left {left} (seed {SEED}); "
            "TOCSIN_TEST_FULL=1 runs them all"
        )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        config.pluginmanager.register(_SayFailures(reporter), "tocsin-say-failures")


class _SayFailures:
    """Say a failure when it happens, not only at the end: a run stopped by CI's time limit
    still shows what failed and why."""

    def __init__(self, reporter: pytest.TerminalReporter) -> None:
        self.reporter = reporter

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.reporter.write_line("")
            self.reporter.write_line(f"FAILED {report.nodeid} ({report.when}):")
            self.reporter.write_line(report.longreprtext[-3000:])


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile every detector's kernels (or load them from numba's on-disk cache) before the
    first test. A fresh checkout has no cache: the first server asked for scores would compile
    `auto` inside a test client's timeout (30 to 170 s on a loaded 2-core machine); servers the
    tests start load the cache this writes."""
    rows = 400
    series = np.zeros(rows, dtype=np.int64)
    times = 1_700_000_000 + 60 * np.arange(rows, dtype=np.int64)
    wave = np.sin(np.arange(rows) / 7.0)
    for kind in DETECTORS:
        values = np.column_stack([wave, wave * 2.0]) if is_multivariate(kind) else wave
        make_detector(kind).score_batch(series, times, values)


@pytest.fixture(autouse=True)
def _dev_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run as a development deployment (a published key seals secrets) unless a test
    sets TOCSIN_ENV or TOCSIN_SECRET_KEY itself; production refuses to start without a key."""
    monkeypatch.setenv("TOCSIN_ENV", "dev")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL cluster on a free loopback port for the whole session; yields a base URL."""
    if os.environ.get("TOCSIN_TEST_PG_URL"):
        yield os.environ["TOCSIN_TEST_PG_URL"].rstrip("/")
        return
    if pg_bindir() is None:
        pytest.fail("PostgreSQL is not installed: run the README's test command (it installs it)")
    with postgres_cluster() as url:
        yield url


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return create_database(pg_server, "t_" + uuid.uuid4().hex[:12])


@pytest.fixture
def nats() -> Iterator[NatsServer]:
    """A real NATS server with JetStream, of this test alone."""
    with nats_server() as server:
        yield server


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file for one test."""
    return f"sqlite:///{tmp_path / 'tocsin.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tocsin.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes it runs on the in-memory reference store, SQLite and PostgreSQL."""
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tocsin.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url
