"""The fault-injection suite in CI: a bounded, seeded share of `tests/e2e/faults.py`.

SIGKILL at random moments of ingest, dispatch and delivery (and of the standby), with one or two
`tocsin serve` on one SQLite or PostgreSQL database; after every run the invariants hold: every
acknowledged observation stored once, the warning transitions equal a clean replay and a model
fed the batches one by one, no idempotency key with two bodies, every transition notified to a
receiver that drops repeated keys, the outbox delivered. CI runs the seeds below (fixed, so a
failure reproduces); `python bench/faults.py --seeds N` runs as many as asked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.faults import Fault, Plan, run_plan, schedule

pytestmark = pytest.mark.slow

# the CI share: each (database, servers) once, seeds chosen to cover every fault between them
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
