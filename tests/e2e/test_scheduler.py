"""The scheduler as a role of its own: two `tocsin notify run --work schedule` processes elect
one (the schedule lease in PostgreSQL) to run the timers, here the observations' retention
job; when it is killed the other takes over within seconds and runs the job at once. Beside
them `tocsin serve` (background workers off, started after them) takes observations: no
`notify run` holds the rules lease a serving process needs (they did, and it answered 503),
and a third `notify run --work dispatch,deliver` holds the dispatch lease apart."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Select, func, select

from tests.e2e.faults import Plan, write_config
from tests.e2e.harness import CLI, Server, issue_token
from tocsin.adapters.storage.engine import make_engine
from tocsin.adapters.storage.tables import audit_log, observations
from tocsin.testing import processes
from tocsin.testing.leases import holder_pid
from tocsin.testing.postgres import create_database, free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

OLD = 1_767_225_600  # 2026-01-01: far past a 30-day retention
TAKEOVER_S = 15.0  # a 2 s lease runs out, then the standby's next claim


def _notify(
    db: str, config: Path, log: Path, work: str, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    cmd = [*CLI, "notify", "run", "--db", db, "--config", str(config), "--work", work]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*cmd, "--interval", "0.2"], stdout=out, stderr=out, env={**os.environ, **env}
        )
    _wait(lambda: "notify run started" in log.read_text(errors="replace"), "not started", proc)
    return proc


def _wait(
    predicate: Callable[[], bool], message: str, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + 60
    while not predicate():
        assert proc is None or proc.poll() is None, message + " (the process exited)"
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


def _count(db: str, query: Select[int]) -> int:
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def test_one_scheduler_runs_the_timers_and_its_standby_takes_over(
    tmp_path: Path, pg_server: str
) -> None:
    plan = Plan(0, "postgres", servers=1)
    config = write_config(tmp_path / "config", plan, "http://127.0.0.1:9/hook")
    db = create_database(pg_server, "scheduler")
    env = {
        "TOCSIN_RETAIN_OBSERVATIONS_DAYS": "30",
        "TOCSIN_RETENTION_INTERVAL_H": "1",  # once an hour: a second run is the standby's
        "TOCSIN_LEASE_S": "2",
        "TOCSIN_BACKGROUND_WORKERS": "false",
    }
    server = Server(db, config, tmp_path / "serve.log", env=env, port=free_port())
    procs: dict[str, subprocess.Popen[bytes]] = {}
    runs = select(func.count()).where(audit_log.c.kind == "retention.observations")
    stored = select(func.count()).select_from(observations)
    try:
        for name in ("schedule-a", "schedule-b"):  # before serve: they must leave it the rules
            procs[name] = _notify(db, config, tmp_path / f"{name}.log", "schedule", env)
        procs["dispatch"] = _notify(db, config, tmp_path / "dispatch.log", "dispatch,deliver", env)
        time.sleep(2.0)  # their lease keepers have claimed what they claim
        server.start()
        token = issue_token(db, config)

        def post(at: int) -> None:
            body = {"observations": [{"indicator": "G00.level", "time": at, "value": 1.0}]}
            answer = server.post("/api/v1/observations", body, token)
            assert answer.status_code in (200, 202), answer.text  # serve holds the rules lease

        _wait(lambda: holder_pid(db, "schedule") in {p.pid for p in procs.values()}, "no holder")
        scheduler = holder_pid(db, "schedule")
        assert scheduler in (procs["schedule-a"].pid, procs["schedule-b"].pid)
        assert holder_pid(db, "dispatch") == procs["dispatch"].pid
        assert holder_pid(db, "rules") == server.pid
        post(OLD)
        post(OLD + 60)
        # the first run happened when the lease was taken (maybe before these were stored):
        # kill the scheduler; its standby runs the job as soon as it takes the lease over
        first_runs = _count(db, runs)
        victim = next(p for p in procs.values() if p.pid == scheduler)
        processes.kill(victim)
        killed = time.monotonic()
        _wait(lambda: holder_pid(db, "schedule") not in (None, scheduler), "no takeover")
        assert time.monotonic() - killed < TAKEOVER_S
        _wait(lambda: _count(db, stored) == 0, "the standby ran no retention job")
        assert _count(db, runs) > first_runs
        post(int(time.time()) - 60)  # a fresh observation is kept
        time.sleep(1.0)
        assert _count(db, stored) == 1
    finally:
        server.stop()
        for proc in procs.values():
            processes.stop(proc)
    logs = [(tmp_path / f"{n}.log").read_text(errors="replace") for n in procs]
    assert not [log for log in logs if "Traceback" in log]
