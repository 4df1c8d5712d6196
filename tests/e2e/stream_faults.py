"""The stream roles under SIGKILL: `tocsin serve --role api` and `tocsin worker` processes on
PostgreSQL and a real nats-server, with the invariants of the single-process fault suite
(`tests/e2e/faults.py`). Used by `tests/e2e/test_stream_roles.py`.

One run, for a seed: a client sends batches of observations (every gauge at one moment, levels
drawn from the seed, as in the fault suite) to the API process, and retries each until it is
answered 202 (a killed API process is started again; a 503 is retried after a pause). While it
sends, the seed's faults land: a worker is killed at a random moment (mid-transaction,
between the commit and the acknowledgement, idle) and started again, or the API process is
killed while it handles the post. At the end every process is running, the client waits until
the workers have committed everything, and checks:

1. every acknowledged observation is stored, once, with its value, and nothing else is;
2. the warning transitions stored equal those of a clean replay of the stored observations,
   and those of a model fed the acknowledged batches one by one.
"""

from __future__ import annotations

import os
import random
import subprocess
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import httpx
from sqlalchemy import func, select

from tests.e2e.faults import (
    Model,
    Outcome,
    Plan,
    check_stored,
    codes,
    draw_batches,
    write_config,
)
from tests.e2e.harness import CLI, Server, issue_token
from tocsin.adapters.storage.engine import make_engine
from tocsin.adapters.storage.tables import observations
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.testing import processes
from tocsin.testing.nats import NatsServer

PARTITIONS = 4
T0 = 1_767_225_600
DEADLINE_S = 90.0


class StreamFault(StrEnum):
    """Where a kill lands."""

    WORKER = "worker"
    API = "api"


@dataclass
class WorkerProcess:
    """`tocsin worker` as a subprocess that can be killed and started again."""

    db: str
    partitions: str
    log: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def alive(self) -> bool:
        """True while it runs."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start it and wait until it says which partitions it resumed from."""
        cmd = [*CLI, "worker", "--db", self.db, "--partitions", self.partitions]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                cmd, env={**os.environ, **self.env}, stdout=out, stderr=out
            )
        self.starts += 1
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            if self.log.read_text(errors="replace").count("worker of partitions") >= self.starts:
                return
            if self.process.poll() is not None:
                raise AssertionError("worker exited: " + self.log.read_text()[-2000:])
            time.sleep(0.05)
        raise AssertionError("worker did not start")

    def kill(self) -> None:
        """SIGKILL, and wait."""
        processes.kill(self.process)

    def stop(self) -> None:
        """SIGTERM (a graceful stop), then wait."""
        processes.stop(self.process)


@dataclass
class StreamPlan:
    """One run: the seed, how much to send, how often a kill lands."""

    seed: int
    batches: int = 12
    indicators: int = 8
    workers: int = 2
    kill_chance: float = 0.5  # per batch
    api_share: float = 0.3  # of the kills, how many land on the API process

    def plan(self) -> Plan:
        """The fault suite's plan of the same batches (its config and value draws)."""
        return Plan(
            self.seed, "postgres", servers=1, batches=self.batches, indicators=self.indicators
        )


@dataclass
class StreamRun:
    """One seeded run against real processes."""

    plan: StreamPlan
    db: str
    nats: NatsServer
    workdir: Path
    outcome: Outcome = field(init=False)

    def __post_init__(self) -> None:
        base = self.plan.plan()
        self.outcome = Outcome(base)
        self.rng = random.Random(f"{self.plan.seed}:stream")
        self.config = write_config(self.workdir / "config", base, "http://127.0.0.1:9/hook")
        build(Settings(database_url=self.db, config_dir=self.config)).close()
        self.token = issue_token(self.db)
        env = {
            "TOCSIN_ENV": "dev",
            "TOCSIN_STREAM_URL": self.nats.url,
            "TOCSIN_STREAM_PARTITIONS": str(PARTITIONS),
            "TOCSIN_DISPATCH_INTERVAL_S": "0.2",
        }
        self.api = Server(
            self.db, None, self.workdir / "api.log", env={**env, "TOCSIN_ROLE": "api"}
        )
        share = PARTITIONS // self.plan.workers
        self.workers = [
            WorkerProcess(
                self.db,
                f"{i * share}-{(i + 1) * share - 1}",
                self.workdir / f"worker{i}.log",
                env,
            )
            for i in range(self.plan.workers)
        ]
        self.model = Model(self.config, base)

    def revive(self) -> None:
        """Start every process that is not running."""
        if not self.api.alive:
            self.api.start()
        for worker in self.workers:
            if not worker.alive:
                worker.start()

    def post(self, values: dict[str, float], at: int) -> int:
        """One attempt: the status, or 0 when the API process could not answer."""
        body = {
            "observations": [{"indicator": k, "time": at, "value": v} for k, v in values.items()]
        }
        try:
            return self.api.post("/api/v1/observations", body, self.token).status_code
        except httpx.HTTPError:
            return 0

    def kill_later(self, victim: WorkerProcess | Server, fault: StreamFault) -> threading.Thread:
        """Kill `victim` after a random pause, in a thread (the post goes on meanwhile)."""
        pause = self.rng.uniform(0.0, 0.08)

        def kill() -> None:
            time.sleep(pause)
            victim.kill()
            self.outcome.kills[fault.value] += 1

        thread = threading.Thread(target=kill)
        thread.start()
        return thread

    def send(self, values: dict[str, float], at: int) -> None:
        """Send one batch, a kill armed at random, until it is acknowledged."""
        killer = None
        if self.rng.random() < self.plan.kill_chance:
            if self.rng.random() < self.plan.api_share:
                killer = self.kill_later(self.api, StreamFault.API)
            else:
                killer = self.kill_later(self.rng.choice(self.workers), StreamFault.WORKER)
        deadline = time.monotonic() + DEADLINE_S
        try:
            while time.monotonic() < deadline:
                status = self.post(values, at)
                if status == 202:
                    self.outcome.acknowledged += 1
                    return
                if status not in (0, 503):
                    raise AssertionError(f"unexpected answer {status} to a valid batch")
                self.outcome.refused += status == 503
                if killer is not None:
                    killer.join()
                self.revive()
                time.sleep(0.05)
            raise AssertionError(f"batch at {at} not acknowledged in {DEADLINE_S} s")
        finally:
            if killer is not None:
                killer.join()
            self.revive()

    def drain(self, expected_rows: int) -> None:
        """Wait until the workers have stored every acknowledged observation."""
        engine = make_engine(self.db)
        deadline = time.monotonic() + DEADLINE_S
        try:
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    stored = conn.execute(select(func.count()).select_from(observations)).scalar()
                if (stored or 0) >= expected_rows:
                    return
                self.revive()
                time.sleep(0.1)
        finally:
            engine.dispose()

    def run(self) -> Outcome:
        """Everything, then the invariants."""
        started = time.monotonic()
        base = self.plan.plan()
        acked: dict[str, dict[int, float]] = {c: {} for c in codes(base)}
        try:
            self.revive()
            for k, values in enumerate(draw_batches(base, random.Random(self.plan.seed))):
                at = T0 + 60 * k
                self.send(values, at)
                self.model.ingest(values, at)
                for code, value in values.items():
                    acked[code][at] = value
            self.drain(sum(len(rows) for rows in acked.values()))
        finally:
            self.api.stop()
            for worker in self.workers:
                worker.stop()
        check(self, acked)
        self.outcome.seconds = time.monotonic() - started
        return self.outcome


def check(run: StreamRun, acked: dict[str, dict[int, float]]) -> None:
    """Invariants 1 and 2 of the module docstring (the fault suite's), each check counted."""
    container = build(Settings(database_url=run.db))
    try:
        transitions = check_stored(run.outcome, container, acked=acked, model=run.model)
        run.outcome.check(bool(transitions), "no warning transition at all: nothing was tested")
    finally:
        container.close()
