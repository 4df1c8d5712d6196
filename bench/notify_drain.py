"""How fast `tocsin notify run` drains a backlog of warnings, and what each costs it in CPU.

The storm benchmark (bench/storm.py) measures the whole path at fixed rates; its ceiling is set
by the warning pipeline of `notify run` (feed, routing, groups, outbox, delivery, response),
which is bound by one interpreter. This benchmark isolates that pipeline:

1. `tocsin serve` over the grid scenario with its background workers off (bench/storm_systems.py,
   every alert a group of its own, one webhook sink), and no `notify run` yet;
2. `--alerts` new alerts posted (64 a post, as Prometheus's notifier) and stored as warnings;
3. `notify run` started: from its "started" line (printed once its loops run) until the last
   alert's notification reached the sink, the drain rate (alerts a second) and `notify run`'s
   CPU per alert (`/proc`, user + system, over the same span); then `notify run` stopped,
   every alert resolved, and `notify run` started again for the resolutions.

Before the alerts, `notify run` is started once with nothing to do: the share of a core its
timers use while idle. Every alert must arrive once as firing and once as resolved; keys that
arrive twice are counted. The reference in the same run: a fixed pure-Python workload
(`reference_ms`), so that figures of runs at different moments of this shared machine can be
compared as `cpu_ms_per_alert / reference_ms`.

    python bench/notify_drain.py                       # SQLite, 20,000 alerts
    python bench/notify_drain.py --db postgresql --alerts 10000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from machine import describe, reference_ms
from storm import MAX_PER_POST, storm_alert
from storm_systems import System, cpu_seconds, start_tocsin
from storm_traffic import Sink
from tocsin.testing.grid import Grid
from tocsin.testing.postgres import create_database, postgres_cluster

CAP_S = 300.0  # give up on a drain after this long
POLL_S = 0.05
PROFILE_DIR = ""  # --py-spy DIR: raw py-spy samples of each drain there
SYSTEM: list[System] = []  # the system of the current run


def post_all(system: System, alerts: list[dict[str, Any]]) -> float:
    """Post the alerts, MAX_PER_POST a post; return the seconds taken."""
    headers = {"Authorization": f"Bearer {system.token}"}
    url = f"http://127.0.0.1:{system.port}/api/v2/alerts"
    started = time.monotonic()
    with httpx.Client(timeout=60) as client:
        for k in range(0, len(alerts), MAX_PER_POST):
            answer = client.post(url, json=alerts[k : k + MAX_PER_POST], headers=headers)
            if answer.status_code != 200:
                raise SystemExit(f"post refused: {answer.status_code} {answer.text[:300]}")
    return time.monotonic() - started


def start(system: System, name: str) -> tuple[subprocess.Popen[bytes], float, float]:
    """Start `notify run`, its output to a log of the given name; wait for its "started" line
    (printed once its loops run); the process, that moment and its CPU seconds by then."""
    log = system.workdir / f"notify-{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(system.notify_argv, stdout=out, stderr=out, env=system.env)
    deadline = time.monotonic() + 120
    while b"notify run started" not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"notify run did not start: {log.read_text()[-2000:]}")
        time.sleep(0.01)
    return process, time.monotonic(), cpu_seconds(process.pid)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop `notify run` (SIGTERM: it gives its leases up)."""
    process.terminate()
    process.wait(timeout=30)


def idle_share() -> float:
    """The share of a core `notify run` uses with nothing to do (its timers polling), over
    2 s after a 2 s pause."""
    process, _, _ = start(SYSTEM[0], "idle")
    try:
        time.sleep(2.0)
        before = cpu_seconds(process.pid)
        time.sleep(2.0)
        return (cpu_seconds(process.pid) - before) / 2.0
    finally:
        stop(process)


def drain(sink: Sink, wanted: set[str], status: str) -> dict[str, Any]:
    """Start `notify run`, wait until every wanted alert arrived with `status`, stop it; the
    drain's figures from its "started" line on."""
    process, started, cpu_started = start(SYSTEM[0], status)
    spy = None
    if PROFILE_DIR:  # samples of the thread holding the interpreter (py-spy's default)
        out = Path(PROFILE_DIR) / f"{status}.txt"
        spy_argv = ["py-spy", "record", "--pid", str(process.pid), "-f", "raw", "-r", "250"]
        spy = subprocess.Popen([*spy_argv, "-o", str(out)], stdout=subprocess.DEVNULL)
    seen: set[str] = set()
    keys: Counter[str] = Counter()
    try:
        while len(seen) < len(wanted) and time.monotonic() - started < CAP_S:
            if process.poll() is not None:
                raise SystemExit(f"notify run exited: {process.returncode}")
            for _moment, body, key in sink.take():
                keys[key] += 1
                for alert in json.loads(body).get("alerts", []):
                    ident = alert.get("labels", {}).get("id", "")
                    if ident in wanted and alert.get("status") == status:
                        seen.add(ident)
            time.sleep(POLL_S)
        took, cpu = time.monotonic() - started, cpu_seconds(process.pid) - cpu_started
    finally:
        stop(process)
        if spy is not None:
            spy.wait(timeout=60)
    return {
        "arrived": len(seen),
        "missing": len(wanted) - len(seen),
        "drain_s": round(took, 2),
        "per_s": round(len(seen) / took),
        "cpu_ms_per_alert": round(cpu * 1000 / max(len(seen), 1), 3),
        "keys_twice": sum(1 for n in keys.values() if n > 1),
    }


def run(database_url: str | None, n: int, cells: int) -> dict[str, Any]:
    """One database: post, drain, resolve, drain."""
    with ExitStack() as stack:
        sink = Sink()
        stack.callback(sink.close)
        grid = Grid(cells=cells)
        system = start_tocsin(sink.url, grid, database_url, processes=2, start_notify=False)
        stack.callback(system.stop)
        SYSTEM[:] = [system]
        now = datetime.now(UTC)
        ids = [f"drain-{i:06d}" for i in range(n)]
        cell = [grid.cell_code(i % cells) for i in range(n)]
        firing = [storm_alert(x, c, starts=now, ends=None) for x, c in zip(ids, cell, strict=True)]
        result: dict[str, Any] = {"idle_core_share": round(idle_share(), 3)}
        result["post_per_s"] = round(n / post_all(system, firing))
        result["firing"] = drain(sink, set(ids), "firing")
        ends = datetime.now(UTC) + timedelta(seconds=1)
        resolved = [
            storm_alert(x, c, starts=now, ends=ends) for x, c in zip(ids, cell, strict=True)
        ]
        time.sleep(1.5)  # the resolutions' end lies in the past when they are posted
        post_all(system, resolved)
        result["resolved"] = drain(sink, set(ids), "resolved")
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--alerts", type=int, default=20_000)
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--py-spy", default="", help="a directory for py-spy's samples")
    args = parser.parse_args()
    global PROFILE_DIR
    PROFILE_DIR = args.py_spy
    print(json.dumps({"machine": describe()}))
    figures: dict[str, Any] = {"alerts": args.alerts, "reference_ms": round(reference_ms(), 1)}
    if args.db in ("sqlite", "both"):
        figures["sqlite"] = run(None, args.alerts, args.cells)
        print(json.dumps({"sqlite": figures["sqlite"]}), flush=True)
    if args.db in ("postgresql", "both"):
        with postgres_cluster(durable=True) as cluster:  # fsync on, as bench/storm.py
            url = create_database(cluster, "drain")
            figures["postgresql"] = run(url, args.alerts, args.cells)
        print(json.dumps({"postgresql": figures["postgresql"]}), flush=True)
    figures["reference_ms_after"] = round(reference_ms(), 1)
    for name in ("sqlite", "postgresql"):
        if name in figures:
            per_ref = figures[name]["firing"]["cpu_ms_per_alert"] / figures["reference_ms"]
            figures[name]["firing_cpu_per_reference"] = round(per_ref, 5)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
