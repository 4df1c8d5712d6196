"""The fault-injection suite: SIGKILL at random moments of ingest, dispatch and delivery, with
one or two `tocsin serve` on one database (SQLite or PostgreSQL), and the invariants that must
hold after every run. Used by `tests/e2e/test_faults.py` (a few seeds in CI) and
`bench/faults.py` (as many as asked).

One run, for a seed: a client sends batches of observations (every indicator at one moment,
levels drawn from the seed) to a random server, and retries each until one answers 202 (a
standby answers 503 and names the owner; a killed server is started again). Before a batch, the
seed may arm one fault:

- `ingest`: the receiving server is killed while it handles the post;
- `dispatch`: the dispatch owner is killed just after the post was acknowledged;
- `delivery`: the dispatch owner is killed while the receiver is being sent a notification;
- `standby` (two servers): the process that does not dispatch is killed.

After each acknowledged batch the client waits until the receiver has been told every warning
transition so far (a receiver that drops repeated keys), so that each transition has its own
notification. At the end every server stops, and the invariants are checked:

1. every acknowledged observation is stored, once, with its value, and nothing else is;
2. the warning transitions stored equal those of a clean replay of the stored observations
   (and those of a model fed the acknowledged batches one by one);
3. no idempotency key was sent with two different bodies;
4. the receiver, dropping repeated keys, saw every transition (level and moment), each under
   one key (not notified twice), and nothing that was not a transition;
5. every notification in the outbox was delivered.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import Engine, func, select

from tests.e2e.harness import Received, Server, Sink, issue_token, running_sink
from tocsin.adapters.storage.alerting_tables import notifications
from tocsin.adapters.storage.engine import make_engine
from tocsin.adapters.storage.lease_tables import leases
from tocsin.adapters.storage.memory.store import MemoryStore
from tocsin.bootstrap import Container, Stores, build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.observations import ObservationBatch
from tocsin.testing.clock import FakeClock
from tocsin.testing.replay import (
    Transition,
    clean_replay,
    stored_observations,
    stored_transitions,
)
from tocsin.testing.scenario import small_config, write_small_config

SYSTEM = system_principal("test")

ENV = {
    "TOCSIN_DISPATCH_INTERVAL_S": "0.05",
    "TOCSIN_NOTIFY_LEASE_S": "1",
    "TOCSIN_LEASE_S": "1.5",
}
LEVEL_VALUES = (1.0, 3.5, 4.5, 5.5)  # none, yellow, orange, red
T0 = 1_767_225_600  # the first batch's moment; one minute between batches
DEADLINE_S = 90.0


class Fault(StrEnum):
    """Where a kill lands."""

    INGEST = "ingest"
    DISPATCH = "dispatch"
    DELIVERY = "delivery"
    STANDBY = "standby"


# chance per batch of each fault (the rest: no fault)
CHANCES: dict[Fault, float] = {
    Fault.INGEST: 0.2,
    Fault.DISPATCH: 0.15,
    Fault.DELIVERY: 0.15,
    Fault.STANDBY: 0.1,
}


@dataclass(frozen=True)
class Plan:
    """One run: which seed, database and number of servers, how much to send."""

    seed: int
    database: str  # "sqlite" or "postgres"
    servers: int
    batches: int = 10
    indicators: int = 5
    faults: bool = True  # False: the same run without kills (the benchmark's reference)


@dataclass
class Outcome:
    """What a run did and found."""

    plan: Plan
    kills: Counter[str] = field(default_factory=Counter)
    acknowledged: int = 0
    refused: int = 0  # 503 answers (standby, or lease not yet taken over)
    checks: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def check(self, ok: bool, problem: str) -> None:
        """Count one invariant check; keep its problem when it fails."""
        self.checks += 1
        if not ok:
            self.problems.append(problem)


def codes(plan: Plan) -> list[str]:
    """The run's indicator codes."""
    return [f"G{i:02d}.level" for i in range(plan.indicators)]


def gauge_rows(
    names: list[str], thresholds: dict[str, float], **more: object
) -> list[dict[str, object]]:
    """River gauges of these codes in the districts in turn, as `indicators.yaml` rows."""
    return [
        {
            "code": code,
            "name": f"Gauge {code}",
            "region": ("D11", "D12", "D21")[i % 3],
            "domain": "natural.flood",
            "unit": "m",
            "thresholds": thresholds,
            **more,
        }
        for i, code in enumerate(names)
    ]


def write_config(folder: Path, plan: Plan, sink_url: str) -> Path:
    """The small scenario plus the run's gauges, every transition routed to the sink."""
    base = small_config()
    gauges = gauge_rows(codes(plan), {"yellow": 3.0, "orange": 4.0, "red": 5.0})
    route = {"receiver": "NAT", "group_by": ["subject"], "group_wait_s": 0, "group_interval_s": 0.2}
    return write_small_config(
        folder,
        **{
            "indicators.yaml": {"indicators": [*base["indicators.yaml"]["indicators"], *gauges]},
            "units.yaml": {
                "units": [{"code": "NAT", "name": "Nation", "region": "N", "webhook_url": sink_url}]
            },
            "routes.yaml": {"route": route},
        },
    )


def draw_batches(plan: Plan, rng: random.Random) -> list[dict[str, float]]:
    """Values per batch: each gauge keeps its level or moves to another, at random."""
    levels = dict.fromkeys(codes(plan), 0)
    out = []
    for _ in range(plan.batches):
        for code in levels:
            if rng.random() < 0.45:
                levels[code] = rng.randrange(len(LEVEL_VALUES))
        out.append({code: LEVEL_VALUES[level] for code, level in levels.items()})
    return out


def draw_fault(plan: Plan, rng: random.Random) -> Fault | None:
    """The fault of one batch (standby kills need two servers)."""
    roll = rng.random()
    for fault, chance in CHANCES.items():
        if roll < chance:
            return None if fault is Fault.STANDBY and plan.servers < 2 else fault
        roll -= chance
    return None


def schedule(plan: Plan) -> list[tuple[dict[str, float], Fault | None]]:
    """The seed's batches and the fault armed before each; the moments of kills and the
    servers posted to are drawn at run time from a second generator of the same seed."""
    rng = random.Random(plan.seed)
    batches = draw_batches(plan, rng)
    faults = [draw_fault(plan, rng) for _ in batches]
    return list(zip(batches, faults if plan.faults else [None] * len(batches), strict=True))


def notified(received: list[Received]) -> set[tuple[str, str, int]]:
    """(subject, level or "lifted", moment) of every warning the receiver was told about."""
    out: set[tuple[str, str, int]] = set()
    for r in received:
        for w in r.body.get("firing", []):
            out.add((w["subject"], w["level"], _epoch(w["cause"]["time"])))
        for w in r.body.get("resolved", []):
            out.add((w["subject"], "lifted", _epoch(w["lifted_at"])))
    return out


def expected(transitions: list[Transition]) -> set[tuple[str, str, int]]:
    """The same triples for warning transitions."""
    return {
        (code, "lifted" if kind == "warning.lifted" else level, _epoch(at))
        for code, kind, level, at in transitions
    }


def _epoch(moment: str) -> int:
    return int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp())


class Model:
    """The acknowledged batches fed one by one through a fresh engine in memory."""

    def __init__(self, config: Path, plan: Plan) -> None:
        memory = MemoryStore()
        self.clock = FakeClock()
        self.container = build(
            Settings(database_url="memory://", config_dir=config),
            stores=Stores(memory, memory, memory.close, memory),
            clock=self.clock,
        )
        self.plan = plan

    def ingest(self, values: dict[str, float], at: int) -> None:
        """One acknowledged batch."""
        ids = self.container.rules.ids
        self.clock.set(datetime.fromtimestamp(at, self.clock.now().tzinfo))
        batch = ObservationBatch(
            np.array([ids[c] for c in values], dtype=np.int64),
            np.full(len(values), at, dtype=np.int64),
            np.array(list(values.values()), dtype=np.float64),
        )
        self.container.ingest.ingest_batch(batch)

    def transitions(self) -> list[Transition]:
        """What the model did so far."""
        return stored_transitions(self.container)


def settle(sink: Sink, model: Model, out: Outcome, *, revive: Callable[[], None]) -> None:
    """Wait until the receiver was told every transition the model made so far, starting
    again whatever was killed meanwhile; a problem in `out` if that never happens."""
    want = expected(model.transitions())
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        revive()
        if sink.wait_for(lambda rs: want <= notified(rs), 0.25):
            return
    missing = want - notified(sink.snapshot())
    out.problems.append(f"transitions never notified: {sorted(missing)[:5]}")


class Run:
    """One seeded run against real servers."""

    def __init__(self, plan: Plan, db: str, workdir: Path, sink: Sink) -> None:
        self.plan = plan
        self.db = db
        self.rng = random.Random(f"{plan.seed}:timing")
        self.sink = sink
        self.outcome = Outcome(plan)
        self.config = write_config(workdir / "config", plan, sink.url)
        build(Settings(database_url=db, config_dir=self.config)).close()
        self.token = issue_token(db)
        self.servers = [
            Server(db, self.config, workdir / f"serve{i}.log", env=ENV) for i in range(plan.servers)
        ]
        self.engine: Engine = make_engine(db)
        self.model = Model(self.config, plan)
        self.armed = False  # a delivery kill waits for the next notification
        self.lock = threading.Lock()

    # -- the servers ---------------------------------------------------------------------------
    def owner(self) -> Server:
        """The server holding the dispatch lease (else any live one, else the first)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(leases.c.holder).where(leases.c.name == "dispatch")).first()
        pid = int(row[0].split(":")[1]) if row else None
        live = [s for s in self.servers if s.alive]
        return next((s for s in live if s.pid == pid), live[0] if live else self.servers[0])

    def kill(self, server: Server, fault: Fault) -> None:
        """SIGKILL one server, counted."""
        with self.lock:
            if server.alive:
                server.kill()
                self.outcome.kills[fault.value] += 1

    def revive(self) -> None:
        """Start every server that is not running."""
        for server in self.servers:
            if not server.alive:
                server.start()

    def on_request(self, _request: Received, _ordinal: int) -> None:
        """The sink's hook: a delivery kill lands on the sender."""
        if self.armed:
            self.armed = False
            self.kill(self.owner(), Fault.DELIVERY)

    # -- the client ----------------------------------------------------------------------------
    def post(self, server: Server, values: dict[str, float], at: int) -> int:
        """One attempt: the status, or 0 when the server could not answer."""
        body = {
            "observations": [{"indicator": k, "time": at, "value": v} for k, v in values.items()]
        }
        try:
            return server.post("/api/v1/observations", body, self.token).status_code
        except httpx.HTTPError:
            return 0

    def send(self, values: dict[str, float], at: int, fault: Fault | None) -> None:
        """Send one batch until a server acknowledges it, with the armed fault."""
        deadline = time.monotonic() + DEADLINE_S
        first = True
        while time.monotonic() < deadline:
            self.revive()
            target = self.rng.choice(self.servers)
            if first and fault is Fault.INGEST:
                status = self.post_while_killing(target, values, at)
            else:
                status = self.post(target, values, at)
            first = False
            if status == 202:
                self.outcome.acknowledged += 1
                return
            if status == 503:
                self.outcome.refused += 1
                time.sleep(0.05)
            elif status != 0:
                raise AssertionError(f"unexpected answer {status} to a valid batch")
        raise AssertionError(f"batch at {at} not acknowledged in {DEADLINE_S} s")

    def post_while_killing(self, target: Server, values: dict[str, float], at: int) -> int:
        """Post in a thread and kill the target while it handles the post."""
        result: list[int] = []
        thread = threading.Thread(target=lambda: result.append(self.post(target, values, at)))
        thread.start()
        time.sleep(self.rng.uniform(0.0, 0.06))
        self.kill(target, Fault.INGEST)
        thread.join()
        return result[0] if result else 0

    def settle(self) -> None:
        """Wait until the receiver was told every transition the model made so far."""
        settle(self.sink, self.model, self.outcome, revive=self.revive)

    def batch(self, k: int, values: dict[str, float], fault: Fault | None) -> None:
        """Send batch k with its fault armed, then let it be notified."""
        at = T0 + 60 * k
        if fault is Fault.DELIVERY:
            self.armed = True
        self.send(values, at, fault)
        self.model.ingest(values, at)
        if fault is Fault.DISPATCH:
            time.sleep(self.rng.uniform(0.0, 0.15))
            self.kill(self.owner(), Fault.DISPATCH)
        elif fault is Fault.STANDBY:
            owner = self.owner()
            standby = [s for s in self.servers if s is not owner]
            if standby:
                self.kill(standby[0], Fault.STANDBY)
        self.settle()
        self.armed = False

    def drain(self) -> None:
        """Revive every server and wait until the outbox holds nothing undelivered (a delivery
        cut by the last kill is sent again, under its key, once its lease runs out)."""
        undelivered = select(func.count()).where(notifications.c.status != "delivered")
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            self.revive()
            with self.engine.connect() as conn:
                if not conn.execute(undelivered).scalar_one():
                    return
            time.sleep(0.1)

    def run(self) -> Outcome:
        """Everything, then the invariants."""
        started = time.monotonic()
        self.sink.on_request = self.on_request
        acked: dict[str, dict[int, float]] = {c: {} for c in codes(self.plan)}
        try:
            self.revive()
            for k, (values, fault) in enumerate(schedule(self.plan)):
                self.batch(k, values, fault)
                for code, value in values.items():
                    acked[code][T0 + 60 * k] = value
            self.drain()
            time.sleep(0.5)  # anything still in flight arrives (and counts against key reuse)
        finally:
            self.sink.on_request = None
            for server in self.servers:
                server.stop()
            self.engine.dispose()
        check_invariants(self, acked)
        self.outcome.seconds = time.monotonic() - started
        return self.outcome


def check_stored(
    out: Outcome, container: Container, *, acked: dict[str, dict[int, float]], model: Model
) -> list[Transition]:
    """Invariants 1 and 2, each comparison counted: every acknowledged observation stored once
    with its value and nothing else; the stored transitions equal a clean replay's and the
    model's. Returns the stored transitions."""
    stored = stored_observations(container)
    for code, rows in acked.items():
        times, values = stored.get(code, ([], []))
        pairs = list(zip(times, values, strict=True))  # a row stored twice shows here
        sent = sorted(rows.items())
        out.check(pairs == sent, f"{code}: stored {pairs} != acknowledged {sent}")
    transitions = stored_transitions(container)
    out.check(transitions == clean_replay(container), "stored transitions != clean replay")
    modelled = model.transitions()
    out.check(transitions == modelled, f"stored transitions != model: {transitions} {modelled}")
    return transitions


def check_invariants(run: Run, acked: dict[str, dict[int, float]]) -> None:
    """The five invariants of the module docstring, each comparison counted."""
    out = run.outcome
    container = build(Settings(database_url=run.db))
    try:
        transitions = check_stored(out, container, acked=acked, model=run.model)
        check_notified(out, container, transitions, run.sink.snapshot())
    finally:
        container.close()


def check_notified(
    out: Outcome, container: Container, transitions: list[Transition], received: list[Received]
) -> None:
    """Invariants 3 to 5, each comparison counted: no key sent with two different bodies; the
    receiver, dropping repeated keys, was told every transition and nothing else; every
    notification in the outbox delivered (and received)."""
    bodies: dict[str, Any] = {}
    for r in received:
        first = bodies.setdefault(r.key, r.body)
        out.check(first == r.body, f"two different bodies under key {r.key}")
    told, want = notified(received), expected(transitions)
    for item in sorted(want):
        out.check(item in told, f"transition never notified: {item}")
    keys: dict[tuple[str, str, int], set[str]] = {}
    for r in received:
        for item in notified([r]):
            keys.setdefault(item, set()).add(r.key)
    for item, under in sorted(keys.items()):
        out.check(len(under) == 1, f"transition notified under {len(under)} keys: {item}")
    for item in sorted(told - want):
        out.check(False, f"notified but no transition: {item}")
    log = container.dispatcher.notification_log(limit=100_000, principal=SYSTEM)
    for n in log:
        out.check(n.status.value == "delivered", f"{n.key} is {n.status.value}")
        out.check(n.key in bodies, f"{n.key} delivered but never received")


def run_plan(plan: Plan, db: str, workdir: Path) -> Outcome:
    """One run with its own receiver."""
    workdir.mkdir(parents=True, exist_ok=True)
    with running_sink() as sink:
        return Run(plan, db, workdir, sink).run()
