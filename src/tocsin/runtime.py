"""The heap of a long-running process (`serve`, `notify run`): CPython's cyclic garbage
collector kept off the request path.

With CPython's default thresholds (700, 10, 10) a server answering thousands of requests a
second promotes the objects of requests in flight into the oldest generation, and a full
collection follows about once a second. Each one walks every object the process holds: the
configuration, the API's models, the rule state of every indicator. Measured with
`bench/api_ingest.py` (10,000 indicators, SQLite, single-observation requests from 64
connections): full collections of about 200 ms once a second, each one a stall of every request
in flight, which made the p99 answer 200–300 ms while the p50 was 15 ms.

Two settings, applied once when a server starts:
- `settle()`: a last full collection, then `gc.freeze()`: everything alive at start-up
  (modules, models, configuration, state) moves to a generation that collections skip. Objects
  are still freed by their reference counts as always; only cycles among them would wait.
- a young generation of `YOUNG` allocations instead of 700, so short-lived request objects die
  before a collection promotes them.

A third, `TOCSIN_THREAD_SWITCH_MS` (1 ms by default; CPython's is 5 ms): how long a thread may
hold the interpreter while another waits for it. A commit thread gives the interpreter up at
every database call and may then wait a whole interval to get it back from the busy event loop.
At 1 ms public reports on SQLite went from 734–773 to 918–954 a second with their p99 halved
(`bench/reports.py --notify`), and ingest was no worse (`bench/api_ingest.py`); 0.5 ms had cost
single-observation requests a quarter of their rate (docs/deployment.md has the table).

Which data chose them: the single-observation phase of `bench/api_ingest.py` (freezing alone:
p99 222 → 99 ms, full collections of 47 ms twice a second; with the larger young generation:
p99 68 ms, one full collection in 40 s). They were then checked, not tuned, on the storm and
report benchmarks (docs/benchmarks.md).
"""

from __future__ import annotations

import gc
import sys
from typing import Final

YOUNG: Final = 20_000  # allocations between collections of the young generation (CPython: 700)


def settle() -> None:
    """Collect once, then exempt every object alive now from later collections."""
    gc.collect()
    gc.freeze()


def tune_collector(*, switch_ms: float | None = None) -> None:
    """The collector settings of a long-running server process; call once its start-up is
    done (the application built, the state loaded). `switch_ms`: the interpreter's thread
    switch interval (`TOCSIN_THREAD_SWITCH_MS`; None keeps CPython's 5 ms)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)
    if switch_ms is not None:
        sys.setswitchinterval(switch_ms / 1000)
    settle()
