"""Schemathesis over the whole OpenAPI document with an admin token: no server error, every
response as documented (a bounded, seeded run; `bench/fuzz_api.py --examples N` runs longer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.fuzzing import fuzz, fuzz_target
from tests.share import FULL

# valid and as many invalid requests per operation: the whole run (TOCSIN_TEST_FULL=1) about
# 200 s on 2 cores, the share CI runs about 80 s
EXAMPLES = 25 if FULL else 10
SEED = 20_260_101


@pytest.mark.slow
def test_fuzzing_every_operation_finds_no_server_error_and_no_schema_violation(
    tmp_path: Path,
) -> None:
    with fuzz_target(tmp_path) as target:
        report = fuzz(target, examples=EXAMPLES, seed_value=SEED)
        paths = target.app.openapi()["paths"].values()
    assert report.server_errors == []
    assert report.violations == []
    assert report.operations == sum(len(item) for item in paths)  # every documented one
    assert report.cases >= report.operations * EXAMPLES  # every operation was exercised
    assert report.by_status.get(200, 0) + report.by_status.get(202, 0) > 0
