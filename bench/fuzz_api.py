"""Fuzz the whole REST API (OpenAPI 3.1) with schemathesis for longer than the test suite does.

Every operation gets `--examples` valid and as many invalid requests, sent with an admin token
to the web app over a fresh SQLite database (`tests/api/fuzzing.py`). The checks: no server
error, documented status codes, content types and headers, response bodies valid against their
schemas, invalid requests refused. Prints the machine, each operation's time, every failure,
and ends with one JSON line (the reference is the seeded 25-example run of the test suite:
`ratio_to_ci` is how many more cases this run sent).

    python bench/fuzz_api.py                      # 200 examples per operation and mode
    python bench/fuzz_api.py --examples 1000 --seed 7
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))
from tests.api.fuzzing import fuzz, fuzz_target
from tests.api.test_fuzz import EXAMPLES as CI_EXAMPLES
from tests.api.test_fuzz import SEED as CI_SEED

from machine import describe


def main() -> int:
    """Run the fuzzer; exit 1 if it found anything."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200, help="per operation and mode")
    parser.add_argument("--seed", type=int, default=CI_SEED)
    args = parser.parse_args()
    print(json.dumps({"machine": describe()}))
    runs = {}
    for name, examples in (("ci", CI_EXAMPLES), ("long", args.examples)):
        started = time.perf_counter()
        with fuzz_target() as target:
            report = fuzz(target, examples=examples, seed_value=args.seed, progress=print)
        took = time.perf_counter() - started
        for failure in report.server_errors + report.violations:
            print(f"FAILURE {failure}")
        runs[name] = (report, took)
        print(f"{name}: {report.cases} cases in {took:.1f} s, statuses {report.by_status}")
    ci, long = runs["ci"], runs["long"]
    summary = {
        "benchmark": "fuzz_api",
        "examples": args.examples,
        "seed": args.seed,
        "operations": long[0].operations,
        "cases": long[0].cases,
        "seconds": round(long[1], 1),
        "cases_per_s": round(long[0].cases / long[1], 1),
        "server_errors": len(long[0].server_errors),
        "schema_violations": len(long[0].violations),
        "ratio_to_ci": round(long[0].cases / max(ci[0].cases, 1), 2),
        "ci_server_errors": len(ci[0].server_errors),
        "ci_schema_violations": len(ci[0].violations),
        "statuses": {str(k): v for k, v in sorted(long[0].by_status.items())},
    }
    print(json.dumps(summary))
    failed = summary["server_errors"] or summary["schema_violations"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
