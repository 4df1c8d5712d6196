"""How much of the long fault and fuzz runs a run of the suite takes.

CI runs a bounded share, chosen by a seed: the cases marked `sampled(k)` keep k of their family
(tests/conftest.py) and the fuzz run sends fewer requests per operation. The seed is fixed, so
CI runs exactly what was run before a commit and a failure reproduces; TOCSIN_TEST_SEED picks
another share, TOCSIN_TEST_FULL=1 runs everything (and bench/faults.py, bench/fuzz_api.py run
longer, wider ones).
"""

from __future__ import annotations

import os

FULL = os.environ.get("TOCSIN_TEST_FULL") == "1"
SEED = os.environ.get("TOCSIN_TEST_SEED") or "tocsin-2026"
