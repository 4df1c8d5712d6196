"""The fault-injection suite over many seeds (`tests/e2e/faults.py`; CI runs four of them).

For every seed and every chosen (database, servers) pair, one run: batches of observations sent
to one or two `tocsin serve` on one database while SIGKILL lands at random moments of ingest,
dispatch, delivery and the standby; then the invariants (every acknowledged observation stored
once, transitions equal a clean replay and a model, no key with two bodies, every transition
notified to a receiver that drops repeated keys, the outbox delivered). The reference, in the
same run: each pair once more without kills (`ratio_to_clean`: seconds per faulty run over
seconds per clean run). Prints the machine and every run, ends with one JSON line; exit 1 if
any invariant failed.

    python bench/faults.py                                  # 20 seeds, SQLite and PostgreSQL
    python bench/faults.py --seeds 100 --first 1000 --database sqlite --servers 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))
from tests.e2e.faults import Outcome, Plan, run_plan

from machine import describe
from tocsin.testing.postgres import create_database, postgres_cluster


@contextmanager
def databases(kinds: list[str]) -> Iterator[dict[str, str]]:
    """A base URL per database kind (a throw-away PostgreSQL cluster when asked)."""
    with ExitStack() as stack:
        bases = {"sqlite": "sqlite"}
        if "postgres" in kinds:
            bases["postgres"] = stack.enter_context(postgres_cluster())
        yield bases


def fresh_url(kind: str, bases: dict[str, str], folder: Path) -> str:
    """An empty database for one run."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'tocsin.db'}"
    return create_database(bases["postgres"], "f_" + uuid.uuid4().hex[:12])


def one(plan: Plan, bases: dict[str, str], scratch: Path) -> Outcome:
    """Run a plan in its own folder; an exception counts as a failed run."""
    folder = Path(tempfile.mkdtemp(dir=scratch))
    started = time.monotonic()
    try:
        return run_plan(plan, fresh_url(plan.database, bases, folder), folder)
    except Exception as error:  # a run that could not finish is a finding, not a crash
        outcome = Outcome(plan, seconds=time.monotonic() - started)
        outcome.problems.append(f"run failed: {error!r}"[:2000])
        return outcome


def main() -> int:
    """Run the seeds; exit 1 if any invariant failed."""
    # throw-away databases, as in the test suite: the development key seals their secrets
    os.environ.setdefault("TOCSIN_ENV", "dev")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds per (database, servers)")
    parser.add_argument("--first", type=int, default=100, help="the first seed")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--servers", choices=["1", "2", "both"], default="both")
    parser.add_argument("--batches", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps({"machine": describe()}))
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    counts = [1, 2] if args.servers == "both" else [int(args.servers)]
    pairs = [(k, n) for k in kinds for n in counts]
    faulty: list[Outcome] = []
    clean: list[Outcome] = []
    with databases(kinds) as bases, tempfile.TemporaryDirectory() as scratch:
        for kind, n in pairs:
            reference = Plan(args.first, kind, n, batches=args.batches, faults=False)
            clean.append(one(reference, bases, Path(scratch)))
            for seed in range(args.first, args.first + args.seeds):
                outcome = one(Plan(seed, kind, n, batches=args.batches), bases, Path(scratch))
                faulty.append(outcome)
                print(
                    f"{kind} servers={n} seed={seed}: kills {dict(outcome.kills)}, "
                    f"{outcome.acknowledged} acknowledged, {outcome.refused} refused (503), "
                    f"{outcome.checks} checks, {len(outcome.problems)} problems, "
                    f"{outcome.seconds:.1f} s",
                    flush=True,
                )
                for problem in outcome.problems:
                    print(f"FAILURE {kind} servers={n} seed={seed}: {problem}", flush=True)
    print(json.dumps(summary(args, faulty, clean)))
    return 1 if any(o.problems for o in faulty + clean) else 0


def summary(
    args: argparse.Namespace, faulty: list[Outcome], clean: list[Outcome]
) -> dict[str, object]:
    """The final JSON line."""
    kills: Counter[str] = Counter()
    for outcome in faulty:
        kills.update(outcome.kills)
    per_faulty = sum(o.seconds for o in faulty) / max(len(faulty), 1)
    per_clean = sum(o.seconds for o in clean) / max(len(clean), 1)
    return {
        "benchmark": "faults",
        "runs": len(faulty),
        "first_seed": args.first,
        "seeds": args.seeds,
        "database": args.database,
        "servers": args.servers,
        "batches": args.batches,
        "kills": dict(sorted(kills.items())),
        "acknowledged": sum(o.acknowledged for o in faulty),
        "refused_503": sum(o.refused for o in faulty),
        "checks": sum(o.checks for o in faulty),
        "failed_runs": sum(1 for o in faulty if o.problems),
        "failed_clean_runs": sum(1 for o in clean if o.problems),
        "seconds_per_run": round(per_faulty, 1),
        "ratio_to_clean": round(per_faulty / max(per_clean, 1e-9), 2),
    }


if __name__ == "__main__":
    sys.exit(main())
