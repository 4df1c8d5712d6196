"""The stream roles under SIGKILL: `tocsin serve --role api`, `tocsin worker` and (with
notifiers) two `tocsin notify run` processes on PostgreSQL and a real nats-server, with the
invariants of the single-process fault suite (`tests/e2e/faults.py`). Used by
`tests/e2e/test_stream_roles.py`.

One run, for a seed: a client sends batches of observations (every gauge at one moment, levels
drawn from the seed, as in the fault suite) to the API process, and retries each until it is
answered 202 (a killed API process is started again; a 503 is retried after a pause). While it
sends, the seed's faults land at a random moment: a worker is killed (mid-transaction, between
the commit and the acknowledgement, idle), or the API process while it handles the post; with
notifiers, also the `notify run` process holding the dispatch lease (the standby takes over
once the lease runs out), the standby, or `nats-server` itself (started again on its store).
Every killed process is started again. With notifiers, the client waits after each batch until
the webhook receiver was told every transition so far (a receiver dropping repeated keys), as
the fault suite does. At the end every process is running, the client waits until the workers
have committed everything and the outbox is delivered, and checks:

1. every acknowledged observation is stored, once, with its value, and nothing else is;
2. the warning transitions stored equal those of a clean replay of the stored observations,
   and those of a model fed the acknowledged batches one by one;

and with notifiers, the fault suite's invariants 3 to 5: no idempotency key sent with two
different bodies; the receiver told every transition, each under one key, and nothing else;
every notification in the outbox delivered.
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
    ENV,
    Model,
    Outcome,
    Plan,
    check_notified,
    check_stored,
    codes,
    draw_batches,
    settle,
    write_config,
)
from tests.e2e.harness import CLI, Server, Sink, issue_token
from tocsin.adapters.storage.alerting_tables import notifications
from tocsin.adapters.storage.engine import make_engine
from tocsin.adapters.storage.tables import observations
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.testing import processes
from tocsin.testing.leases import holder_pid
from tocsin.testing.nats import NatsServer
from tocsin.testing.postgres import PgCluster

PARTITIONS = 4
T0 = 1_767_225_600
DEADLINE_S = 90.0


class StreamFault(StrEnum):
    """Where a kill lands."""

    WORKER = "worker"
    API = "api"
    DISPATCHER = "dispatcher"  # the `notify run` holding the dispatch lease
    STANDBY = "standby"  # the other `notify run`
    NATS = "nats"
    POSTGRES = "postgres"  # the database server, stopped as if it crashed and started again


# of the kills, how many land on each kind of process
SHARES = {StreamFault.API: 0.3, StreamFault.WORKER: 0.7}
SHARES_WITH_NOTIFIERS = {
    StreamFault.API: 0.15,
    StreamFault.WORKER: 0.3,
    StreamFault.DISPATCHER: 0.25,
    StreamFault.STANDBY: 0.1,
    StreamFault.NATS: 0.2,
}
SHARES_WITH_POSTGRES = {**SHARES_WITH_NOTIFIERS, StreamFault.POSTGRES: 0.15}


@dataclass
class RoleProcess:
    """A `tocsin` command (a worker, `notify run`) as a subprocess that can be killed and
    started again; it is up once its log says `ready` (once more than before)."""

    args: list[str]
    ready: str
    log: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def alive(self) -> bool:
        """True while it runs."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start it and wait until it says it is up."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*CLI, *self.args], env={**os.environ, **self.env}, stdout=out, stderr=out
            )
        self.starts += 1
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            if self.log.read_text(errors="replace").count(self.ready) >= self.starts:
                return
            if self.process.poll() is not None:
                raise AssertionError(f"{self.args[0]} exited: " + self.log.read_text()[-2000:])
            time.sleep(0.05)
        raise AssertionError(f"{self.args[0]} did not start")

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
    notifiers: int = 0  # `notify run` processes (the API process dispatches when none)
    # workers share the partitions themselves (no --partitions); a third joins a third of the
    # way through, and the first leaves (SIGTERM) two thirds of the way through
    balanced: bool = False

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
    sink: Sink | None = None  # the webhook receiver (needed with notifiers)
    postgres: PgCluster | None = None  # the database's own server, when it may be killed too
    outcome: Outcome = field(init=False)

    def __post_init__(self) -> None:
        base = self.plan.plan()
        self.outcome = Outcome(base)
        self.rng = random.Random(f"{self.plan.seed}:stream")
        hook = self.sink.url if self.sink is not None else "http://127.0.0.1:9/hook"
        self.config = write_config(self.workdir / "config", base, hook)
        build(Settings(database_url=self.db, config_dir=self.config)).close()
        self.token = issue_token(self.db)
        env = {
            "TOCSIN_ENV": "dev",
            "TOCSIN_STREAM_URL": self.nats.url,
            "TOCSIN_STREAM_PARTITIONS": str(PARTITIONS),
            "TOCSIN_DISPATCH_INTERVAL_S": "0.2",
            "TOCSIN_LEASE_S": "1.5",  # a killed worker's partitions are free again soon
        }
        api = {**env, "TOCSIN_ROLE": "api"}
        if self.plan.notifiers:
            env |= ENV  # the fault suite's short leases: a standby takes over in 1.5 s
            api |= {**ENV, "TOCSIN_BACKGROUND_WORKERS": "false"}
        self.api = Server(self.db, None, self.workdir / "api.log", env=api)
        share = PARTITIONS // self.plan.workers
        self.env = env
        self.workers = [
            RoleProcess(
                ["worker", "--db", self.db]
                + (
                    []
                    if self.plan.balanced
                    else ["--partitions", f"{i * share}-{(i + 1) * share - 1}"]
                ),
                "worker of partitions",
                self.workdir / f"worker{i}.log",
                env,
            )
            for i in range(self.plan.workers)
        ]
        self.retired: list[RoleProcess] = []  # workers that left for good
        notify = ["notify", "run", "--db", self.db, "--config", str(self.config)]
        self.notifiers = [
            RoleProcess(
                [*notify, "--interval", "0.2"],
                "notify run started",
                self.workdir / f"notify{i}.log",
                env,
            )
            for i in range(self.plan.notifiers)
        ]
        self.model = Model(self.config, base)
        self.shares = SHARES_WITH_NOTIFIERS if self.plan.notifiers else SHARES
        if self.plan.notifiers and self.postgres is not None:
            self.shares = SHARES_WITH_POSTGRES

    @property
    def all(self) -> list[RoleProcess]:
        """Every worker, running or retired."""
        return [*self.workers, *self.retired]

    def come_and_go(self, batch: int) -> None:
        """Balanced workers: a third joins before the batch a third of the way through, and
        the first leaves before the batch two thirds of the way through."""
        if not self.plan.balanced:
            return
        if batch == self.plan.batches // 3:
            log = self.workdir / f"worker{len(self.all)}.log"
            joining = RoleProcess(
                ["worker", "--db", self.db], "worker of partitions", log, self.env
            )
            joining.start()
            self.workers.append(joining)
        if batch == 2 * self.plan.batches // 3:
            leaving = self.workers.pop(0)
            leaving.stop()
            self.retired.append(leaving)

    def revive(self) -> None:
        """Start every process that is not running (the servers first)."""
        if self.postgres is not None and not self.postgres.running():
            self.postgres.start()
        if self.nats.process is None or self.nats.process.poll() is not None:
            self.nats.start()
        if not self.api.alive:
            self.api.start()
        for role in (*self.workers, *self.notifiers):
            if not role.alive:
                role.start()

    def dispatcher(self) -> tuple[RoleProcess | None, RoleProcess | None]:
        """The `notify run` holding the dispatch lease (by the pid in its holder id), and
        another one (the standby)."""
        pid = holder_pid(self.db)
        owner = next((n for n in self.notifiers if n.process and n.process.pid == pid), None)
        other = next((n for n in self.notifiers if n is not owner), None)
        return owner, other

    def post(self, values: dict[str, float], at: int) -> int:
        """One attempt: the status, or 0 when the API process could not answer."""
        body = {
            "observations": [{"indicator": k, "time": at, "value": v} for k, v in values.items()]
        }
        try:
            return self.api.post("/api/v1/observations", body, self.token).status_code
        except httpx.HTTPError:
            return 0

    def victim(self, fault: StreamFault) -> RoleProcess | Server | NatsServer | PgCluster | None:
        """The process a kill of this kind lands on (None: no such process now)."""
        if fault is StreamFault.POSTGRES:
            return self.postgres
        if fault is StreamFault.API:
            return self.api
        if fault is StreamFault.WORKER:
            return self.rng.choice(self.workers)
        if fault is StreamFault.NATS:
            return self.nats
        owner, other = self.dispatcher()
        return owner if fault is StreamFault.DISPATCHER else other

    def kill_later(self, fault: StreamFault) -> threading.Thread:
        """Kill a process of this kind after a random pause, in a thread (the post goes on
        meanwhile)."""
        pause = self.rng.uniform(0.0, 0.08 if fault is not StreamFault.DISPATCHER else 0.3)
        victim = self.victim(fault)

        def kill() -> None:
            time.sleep(pause)
            if victim is not None:
                victim.kill()
                self.outcome.kills[fault.value] += 1

        thread = threading.Thread(target=kill)
        thread.start()
        return thread

    def send(self, values: dict[str, float], at: int) -> None:
        """Send one batch, a kill armed at random, until it is acknowledged."""
        killer = None
        if self.rng.random() < self.plan.kill_chance:
            kinds = list(self.shares)
            fault = self.rng.choices(kinds, weights=[self.shares[k] for k in kinds])[0]
            killer = self.kill_later(fault)
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

    def settle(self) -> None:
        """With notifiers: wait until the receiver was told every transition the model made so
        far (as the fault suite does, so that each transition has a notification of its own)."""
        if self.sink is not None and self.notifiers:
            settle(self.sink, self.model, self.outcome, revive=self.revive)

    def drain(self, expected_rows: int) -> None:
        """Wait until the workers have stored every acknowledged observation and (with
        notifiers) the outbox holds nothing undelivered."""
        engine = make_engine(self.db)
        stored = select(func.count()).select_from(observations)
        undelivered = select(func.count()).where(notifications.c.status != "delivered")
        deadline = time.monotonic() + DEADLINE_S
        try:
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    done = (conn.execute(stored).scalar() or 0) >= expected_rows
                    if self.notifiers:
                        done = done and not conn.execute(undelivered).scalar_one()
                if done:
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
                self.come_and_go(k)
                self.send(values, at)
                self.model.ingest(values, at)
                for code, value in values.items():
                    acked[code][at] = value
                self.settle()
            self.drain(sum(len(rows) for rows in acked.values()))
            if self.notifiers:
                time.sleep(0.5)  # anything still in flight arrives (and counts against key reuse)
        finally:
            self.api.stop()
            for role in (*self.workers, *self.notifiers, *self.retired):
                role.stop()
        check(self, acked)
        if self.plan.balanced:
            moves = sum(
                r.log.read_text(errors="replace").count("took partitions") for r in self.all
            )
            self.outcome.check(moves > 0, "balanced workers: no partition was ever taken")
        self.outcome.seconds = time.monotonic() - started
        return self.outcome


def check(run: StreamRun, acked: dict[str, dict[int, float]]) -> None:
    """The invariants of the module docstring (the fault suite's), each check counted."""
    container = build(Settings(database_url=run.db))
    try:
        transitions = check_stored(run.outcome, container, acked=acked, model=run.model)
        run.outcome.check(bool(transitions), "no warning transition at all: nothing was tested")
        if run.sink is not None and run.notifiers:
            check_notified(run.outcome, container, transitions, run.sink.snapshot())
    finally:
        container.close()
