"""The fault-injection suite in CI: a bounded, seeded share of `tests/e2e/faults.py`.

SIGKILL at random moments of ingest, dispatch and delivery (and of the standby), with one or two
`tocsin serve` on one SQLite or PostgreSQL database; after every run the invariants hold: every
acknowledged observation stored once, the warning transitions equal a clean replay and a model
fed the batches one by one, no idempotency key with two bodies, every transition notified to a
receiver that drops repeated keys, the outbox delivered. A run of the suite takes two of the
plans below, chosen by the share's seed (tests/conftest.py; fixed, so a failure reproduces);
TOCSIN_TEST_FULL=1 runs all four, `python bench/faults.py --seeds N` as many as asked.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.e2e.faults import T0, Fault, Plan, run_plan, schedule
from tests.e2e.harness import CLI
from tocsin.adapters.storage.engine import make_engine
from tocsin.adapters.storage.lease_tables import leases
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.testing.scenario import write_small_config

pytestmark = pytest.mark.slow

# each (database, servers) once, seeds chosen to cover every fault between them; a run of the
# suite takes a seeded two of them (conftest.py), TOCSIN_TEST_FULL=1 all four
CI_PLANS = [
    Plan(seed=1, database="sqlite", servers=1, batches=6),
    Plan(seed=2, database="sqlite", servers=2, batches=6),
    Plan(seed=3, database="postgres", servers=1, batches=6),
    Plan(seed=4, database="postgres", servers=2, batches=6),
]


def _url(plan: Plan, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if plan.database == "sqlite":
        return f"sqlite:///{tmp_path / 'tocsin.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.mark.sampled(2)  # of the four plans; TOCSIN_TEST_FULL=1 runs all
@pytest.mark.parametrize(
    "plan",
    [
        pytest.param(p, id=f"{p.database}-{p.servers}srv-seed{p.seed}", marks=_marks)
        for p in CI_PLANS
        for _marks in [[pytest.mark.postgres] if p.database == "postgres" else []]
    ],
)
def test_kills_at_random_moments_keep_every_invariant(
    plan: Plan, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    outcome = run_plan(plan, _url(plan, request, tmp_path), tmp_path)
    assert outcome.problems == []
    assert outcome.acknowledged == plan.batches
    assert sum(outcome.kills.values()) > 0  # the seed did inject faults
    assert outcome.checks >= plan.batches * plan.indicators  # the invariants were compared


def test_the_ci_share_kills_at_every_kind_of_moment() -> None:
    """The seeds of CI_PLANS between them arm every fault (drawn, not run: cheap)."""
    armed = {fault for plan in CI_PLANS for fault in _drawn_faults(plan)}
    assert armed == set(Fault)


def _drawn_faults(plan: Plan) -> set[Fault]:
    return {fault for _, fault in schedule(plan) if fault is not None}


@pytest.mark.sampled(1)
@pytest.mark.parametrize("seed", [11, 12])
def test_sigkill_during_tocsin_ingest_stores_the_file_whole_or_not_at_all(
    seed: int, tmp_path: Path
) -> None:
    """`tocsin ingest` stores a file in one transaction: killed at a random moment once it
    holds the rules lease (while it reads the file, or writes it), the file is stored whole or
    not at all, and a second run stores each row once."""
    rng = random.Random(seed)
    config = write_small_config(tmp_path / "config")
    db = f"sqlite:///{tmp_path / 'tocsin.db'}"
    build(Settings(database_url=db, config_dir=config)).close()
    rows = 100_000
    data = tmp_path / "levels.csv"
    with data.open("w") as out:
        out.write("indicator,time,value\n")
        out.writelines(f"D11.river_level,{T0 - 60 * i},{i % 7}\n" for i in range(rows))
    command = [*CLI, "ingest", str(data), "--db", db, "--config", str(config)]
    log = (tmp_path / "ingest.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=log)
    engine = make_engine(db)
    try:
        holder = f":{process.pid}:"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            with engine.connect() as conn:
                held = conn.execute(select(leases.c.holder).where(leases.c.name == "rules"))
                if any(holder in h for (h,) in held):
                    break
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.0))
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL, "tocsin ingest ended before the kill"
    finally:
        engine.dispose()
        log.close()
    stored = _rows(db)
    assert stored in (0, rows)
    again = subprocess.run(command, capture_output=True, timeout=600, check=False)
    assert again.returncode == 0, again.stderr.decode()[-2000:]
    assert _rows(db) == rows


def _rows(db: str) -> int:
    container = build(Settings(database_url=db))
    try:
        with container.store.transaction() as tx:
            ident = container.rules.ids["D11.river_level"]
            return len(tx.observations.read(ident, limit=1_000_000))
    finally:
        container.close()
