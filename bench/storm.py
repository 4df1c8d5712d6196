"""Warnings at the rate of a storm: Tocsin and Prometheus Alertmanager fed the same alert stream.

Both systems run side by side in the same run, on the same machine, each in a process of its
own, with the same routing and the same webhook sink (bench/storm_systems.py); one load
generator offers both the same Alertmanager-API stream (bench/storm_traffic.py):

1. **API storm**: at each rate (default 10, 100, 1,000 and 3,000 new alerts/s, for `--seconds`
   each), every alert new and a group of its own (`group_by: [...]` in Alertmanager, the
   alert's `id` in Tocsin; `group_wait` 0, `group_interval` 1 s), posted to `POST
   /api/v2/alerts` as Prometheus posts them (`--post batch`: what fell due in 10 ms, at most 64
   alerts a post; `--post single`: one alert a post); then all of them resolved at the same rate.
   Per system and rate: alerts accepted per second, p50/p99 from the moment an alert was due
   (offered) to its arrival at the sink, the share within 5 s, peak RSS; the **ceiling** is the
   highest rate with every alert accepted and ≥ 99 % at the sink within 5 s (`--search N`
   probes N more rates beyond the list or between a passing and a failing one).
2. **Threshold storm**: 10,000 grid cells cross their red threshold at once. Tocsin through its
   normal ingest path (`POST /api/v1/observations`, one post of 10,000 observations), and both
   systems as 10,000 alerts posted at once; the cells of a district are one group
   (`group_by: [region_district, domain]`, `group_wait` 2 s), so a district's unit gets one
   message naming its 300 cells. Then all back to normal (lifted / resolved).

Tocsin stores every warning and notification durably (SQLite WAL with synchronous=NORMAL; a
PostgreSQL cluster with fsync and synchronous commit on); Alertmanager keeps its alerts in
memory. The figures are wall-clock on a shared machine: compare the two systems within a run.

    python bench/storm.py                       # SQLite and PostgreSQL
    python bench/storm.py --db sqlite --rates 100,1000 --seconds 5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from machine import describe
from storm_systems import System, start_alertmanager, start_tocsin
from storm_traffic import Offered, Sink, offer, post_request
from tocsin.testing.grid import Grid
from tocsin.testing.postgres import create_database, postgres_cluster

SLOT_S = 0.01  # a batch post carries the alerts due in one 10 ms slot
MAX_PER_POST = 64  # as Prometheus's notifier
WITHIN_S = 5.0
PASS_SHARE = 0.99
SETTLE_S = 10.0  # stop waiting once nothing new arrived for this long
CAP_S = 120.0


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Stream:
    """Pre-built posts: bodies, due offsets (s), and the alert ids each post carries."""

    bodies: list[bytes]
    due: list[float]
    ids: list[list[str]]

    @property
    def alerts(self) -> int:
        """Alerts in the stream."""
        return sum(len(i) for i in self.ids)


def storm_alert(
    ident: str, cell: str, *, starts: datetime, ends: datetime | None
) -> dict[str, Any]:
    """One alert of the API storm (its own group everywhere)."""
    labels = {
        "alertname": "Storm",
        "id": ident,
        "region": cell,
        "domain": "natural.flood",
        "severity": "warning",
    }
    return posted_alert(labels, starts=starts, ends=ends)


def posted_alert(
    labels: dict[str, str], *, starts: datetime, ends: datetime | None
) -> dict[str, Any]:
    """An alert as Prometheus posts it: firing, or resolved once `ends` is given."""
    alert: dict[str, Any] = {"labels": labels, "startsAt": _iso(starts)}
    if ends is not None:
        alert["endsAt"] = _iso(ends)
    return alert


def build_stream(
    alerts: Sequence[dict[str, Any]], rate: float, *, mode: str, port: int, token: str
) -> Stream:
    """Posts of `alerts` offered at `rate` a second: one a post, or batched per 10 ms slot."""
    slots: dict[int, list[dict[str, Any]]] = {}
    for i, alert in enumerate(alerts):
        due = i / rate
        key = i if mode == "single" else int(due / SLOT_S)
        slots.setdefault(key, []).append(alert)
    bodies: list[bytes] = []
    due_s: list[float] = []
    ids: list[list[str]] = []
    for key, group in sorted(slots.items()):
        first = key / rate if mode == "single" else key * SLOT_S
        for k in range(0, len(group), MAX_PER_POST):
            chunk = group[k : k + MAX_PER_POST]
            body = json.dumps(chunk).encode()
            bodies.append(post_request("127.0.0.1", port, "/api/v2/alerts", body, token=token))
            due_s.append(first)
            ids.append([a["labels"]["id"] for a in chunk])
    return Stream(bodies, due_s, ids)


@dataclass
class Arrivals:
    """First arrival at the sink of each (alert id, status), and the messages seen."""

    first: dict[tuple[str, str], float] = field(default_factory=dict)
    messages: list[tuple[float, int]] = field(default_factory=list)  # (moment, alerts in it)

    def add(self, taken: Sequence[tuple[float, bytes, str]]) -> None:
        """Parse what the sink received."""
        for moment, body, _key in taken:
            alerts = json.loads(body).get("alerts", [])
            self.messages.append((moment, len(alerts)))
            for a in alerts:
                labels = a.get("labels", {})
                ident = labels.get("id") or labels.get("indicator", "")  # alerts, or gauges
                key = (str(ident), str(a.get("status", "")))
                self.first.setdefault(key, moment)


def wait_for(sink: Sink, arrivals: Arrivals, wanted: set[tuple[str, str]], since: float) -> None:
    """Collect arrivals until every wanted one came, or nothing new came for SETTLE_S."""
    last_new = time.monotonic()
    while time.monotonic() - since < CAP_S:
        before = len(arrivals.first)
        arrivals.add(sink.take())
        if len(arrivals.first) > before:
            last_new = time.monotonic()
        if wanted <= arrivals.first.keys():
            return
        if time.monotonic() - last_new > SETTLE_S:
            return
        time.sleep(0.25)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by rank, inf when it falls on a missing value."""
    if not values:
        return math.inf
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def _ms(value: float) -> float | None:
    return None if math.isinf(value) else round(value * 1000, 1)


@dataclass
class Sampler:
    """Samples a system's resident memory while a phase runs."""

    system: System
    peak: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Sampler:
        def run() -> None:
            while not self._stop.wait(0.2):
                self.peak = max(self.peak, self.system.rss_mib())

        self.peak = self.system.rss_mib()
        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def run_phase(
    system: System, sink: Sink, stream: Stream, *, status: str, connections: int
) -> dict[str, Any]:
    """Offer a stream to a system; time each alert from its due moment to the sink."""
    sink.take()  # anything left over from before does not count
    arrivals = Arrivals()
    cpu_before = system.cpu_seconds()
    with Sampler(system) as memory:
        answers = offer(
            "127.0.0.1", system.port, stream.bodies, stream.due, connections=connections
        )
        answered = [a.answered for a in answers if a.status]
        offered_end = max(answered, default=time.monotonic())
        wanted = {(i, status) for ids, a in zip(stream.ids, answers, strict=True) for i in ids}
        wait_for(sink, arrivals, wanted, since=offered_end)
    return _figures(stream, answers, arrivals, status=status, memory=memory.peak) | {
        "cpu_s": round(system.cpu_seconds() - cpu_before, 2)
    }


def _figures(
    stream: Stream, answers: Sequence[Offered], arrivals: Arrivals, *, status: str, memory: float
) -> dict[str, Any]:
    accepted = sum(
        len(ids) for ids, a in zip(stream.ids, answers, strict=True) if a.status // 100 == 2
    )
    answered = [a.answered for a in answers if a.status]
    span = max(answered, default=0.0) - min(a.due for a in answers)
    latencies: list[float] = []
    for ids, a in zip(stream.ids, answers, strict=True):
        for ident in ids:
            came = arrivals.first.get((ident, status))
            latencies.append(math.inf if came is None else came - a.due)
    within = sum(1 for v in latencies if v <= WITHIN_S) / max(len(latencies), 1)
    return {
        "offered": stream.alerts,
        "accepted": accepted,
        "accepted_per_s": round(accepted / span, 1) if span > 0 else None,
        "notified": sum(1 for v in latencies if not math.isinf(v)),
        "messages": len(arrivals.messages),
        "p50_ms": _ms(percentile(latencies, 0.50)),
        "p99_ms": _ms(percentile(latencies, 0.99)),
        "max_ms": _ms(max(latencies, default=math.inf)),
        "within_5s": round(within, 4),
        "rss_peak_mib": round(memory, 1),
    }


def passes(new: dict[str, Any]) -> bool:
    """The ceiling's test: every alert accepted, ≥ 99 % at the sink within 5 s."""
    return bool(new["accepted"] == new["offered"] and new["within_5s"] >= PASS_SHARE)


@dataclass
class Runner:
    """Runs the API storm's steps on both systems, alternating which goes first."""

    systems: list[System]
    sink: Sink
    grid: Grid
    seconds: float
    mode: str
    connections: int
    steps: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)

    def step(self, system: System, rate: int) -> dict[str, Any]:
        """New alerts at `rate` for `seconds`, then all resolved at the same rate."""
        n = max(int(rate * self.seconds), 1)
        idle_after_s = system.wait_idle()  # the step before is digested (no backlog carried)
        starts = datetime.now(UTC)
        tag = f"{system.name[:2]}{rate}-"
        cells = [self.grid.cell_code(i % self.grid.cells) for i in range(n)]
        new = [storm_alert(f"{tag}{i}", cells[i], starts=starts, ends=None) for i in range(n)]
        build = self._builder(system, rate)
        result = {
            "rate": rate,
            "waited_idle_s": idle_after_s,
            "new": run_phase(
                system, self.sink, build(new), status="firing", connections=self.connections
            ),
        }
        ends = datetime.now(UTC)
        gone = [storm_alert(f"{tag}{i}", cells[i], starts=starts, ends=ends) for i in range(n)]
        result["resolved"] = run_phase(
            system, self.sink, build(gone), status="resolved", connections=self.connections
        )
        result["rss_mib"] = round(system.rss_mib(), 1)
        self.steps.setdefault(system.name, {})[rate] = result
        _print_step(system.name, result)
        return result

    def _builder(self, system: System, rate: int) -> Callable[[list[dict[str, Any]]], Stream]:
        def build(alerts: list[dict[str, Any]]) -> Stream:
            return build_stream(alerts, rate, mode=self.mode, port=system.port, token=system.token)

        return build

    def run(self, rates: Sequence[int], search: int) -> None:
        """Each rate on each system (alternating the order), then the ceiling search."""
        for k, rate in enumerate(rates):
            order = self.systems if k % 2 == 0 else list(reversed(self.systems))
            for system in order:
                self.step(system, rate)
        for system in self.systems:
            for _ in range(search):
                rate = self._next_probe(system.name)
                if rate is None:
                    break
                self.step(system, rate)

    def _next_probe(self, name: str) -> int | None:
        tried = self.steps.get(name, {})
        good = [r for r, s in tried.items() if passes(s["new"])]
        bad = [r for r, s in tried.items() if not passes(s["new"])]
        best = max(good, default=0)
        worst = min((r for r in bad if r > best), default=None)
        if worst is None:
            return int(best * 1.5) if best else None
        probe = (best + worst) // 2
        return probe if worst - best > max(best // 10, 50) else None

    def ceiling(self, name: str) -> int | None:
        """The highest rate that passed."""
        good = [r for r, s in self.steps.get(name, {}).items() if passes(s["new"])]
        return max(good, default=None)


def _print_step(name: str, result: dict[str, Any]) -> None:
    new, gone = result["new"], result["resolved"]
    print(
        f"  {name:12s} {result['rate']:>6}/s  accepted {new['accepted_per_s']}/s "
        f"({new['accepted']}/{new['offered']})  new p50 {new['p50_ms']} ms p99 {new['p99_ms']} ms "
        f"≤5s {new['within_5s']:.1%}  resolved p50 {gone['p50_ms']} ms p99 {gone['p99_ms']} ms "
        f"≤5s {gone['within_5s']:.1%}  RSS {new['rss_peak_mib']:.0f} MiB  cpu {new['cpu_s']} s",
        flush=True,
    )


# -- the threshold storm ------------------------------------------------------------------------


def flood_alert(grid: Grid, i: int, *, starts: datetime, ends: datetime | None) -> dict[str, Any]:
    """Cell i's gauge alert: red, grouped per district."""
    labels = {
        "alertname": "FloodGauge",
        "id": grid.indicator(i),
        "region": grid.cell_code(i),
        "region_district": grid.district_of(i),
        "domain": "natural.flood",
        "level": "red",
    }
    return posted_alert(labels, starts=starts, ends=ends)


def observations_stream(grid: Grid, *, value: float, at: int, system: System) -> Stream:
    """One post of an observation for every cell's gauge."""
    body = json.dumps(
        {
            "observations": [
                {"indicator": grid.indicator(i), "time": at, "value": value}
                for i in range(grid.cells)
            ]
        }
    ).encode()
    request = post_request(
        "127.0.0.1", system.port, "/api/v1/observations", body, token=system.token
    )
    return Stream([request], [0.0], [[grid.indicator(i) for i in range(grid.cells)]])


def threshold_storm(
    systems: list[System], sink: Sink, grid: Grid, connections: int
) -> dict[str, Any]:
    """All cells red at once, then all back to normal: Tocsin through ingest, both as alerts."""
    out: dict[str, Any] = {}
    tocsin = next(s for s in systems if s.name.startswith("tocsin"))
    at = int(time.time())
    for label, value, status in (("raise", 5.5, "firing"), ("lift", 1.0, "resolved")):
        stream = observations_stream(grid, value=value, at=at, system=tocsin)
        out.setdefault("tocsin_ingest", {})[label] = _storm_phase(
            tocsin, sink, stream, status, connections
        )
        at += 60
    starts = datetime.now(UTC) - timedelta(seconds=1)
    for system in systems:
        for label, status in (("raise", "firing"), ("lift", "resolved")):
            ends = datetime.now(UTC) if status == "resolved" else None
            alerts = [flood_alert(grid, i, starts=starts, ends=ends) for i in range(grid.cells)]
            stream = build_stream(alerts, 1e9, mode="batch", port=system.port, token=system.token)
            out.setdefault(f"{system.name}_alerts", {})[label] = _storm_phase(
                system, sink, stream, status, connections
            )
    return out


def _storm_phase(
    system: System, sink: Sink, stream: Stream, status: str, connections: int
) -> dict[str, Any]:
    figures = run_phase(system, sink, stream, status=status, connections=connections)
    print(f"  threshold storm {system.name:12s} {status:8s} {figures}", flush=True)
    return figures


# -- main -----------------------------------------------------------------------------------------


def p99_ratios(steps: dict[str, dict[int, dict[str, Any]]]) -> dict[str, dict[int, Any]]:
    """Each Tocsin deployment's p99 to the sink (new alerts) ÷ Alertmanager's, per rate."""
    reference = steps.get("alertmanager", {})
    out: dict[str, dict[int, Any]] = {}
    for name, by_rate in steps.items():
        if name == "alertmanager":
            continue
        for rate, step in by_rate.items():
            ours, theirs = step["new"]["p99_ms"], reference.get(rate, {}).get("new", {})
            theirs = theirs.get("p99_ms") if theirs else None
            ratio = round(ours / theirs, 1) if ours is not None and theirs else None
            out.setdefault(name, {})[rate] = ratio
    return out


def run_dialect(
    dialect: str, args: argparse.Namespace, grid: Grid, stack: ExitStack
) -> dict[str, Any]:
    """Start a sink and both systems on one database kind; run both storms."""
    sink = Sink()
    stack.callback(sink.close)
    url = None
    if dialect == "postgresql":
        server = stack.enter_context(postgres_cluster(durable=True))
        url = create_database(server, "storm")
    systems = [start_alertmanager(sink.url)]
    stack.callback(systems[0].stop)
    for processes in args.tocsin_processes:
        systems.append(start_tocsin(sink.url, grid, url, processes=processes))
        stack.callback(systems[-1].stop)
        if url is not None and processes != args.tocsin_processes[-1]:
            url = create_database(server, f"storm{processes}")
    print(f"{dialect}: " + ", ".join(f"{s.name} pids {s.pids}" for s in systems), flush=True)
    runner = Runner(systems, sink, grid, args.seconds, args.post, args.connections)
    runner.run([int(r) for r in args.rates.split(",")], args.search)
    result: dict[str, Any] = {"steps": runner.steps}
    ceilings = {s.name: runner.ceiling(s.name) for s in systems}
    result["ceiling_per_s"] = ceilings
    am = ceilings["alertmanager"]
    result["ceiling_ratio_to_alertmanager"] = {
        name: round(c / am, 3) if am and c else None
        for name, c in ceilings.items()
        if name != "alertmanager"
    }
    result["p99_ratio_to_alertmanager"] = p99_ratios(runner.steps)
    print(f"{dialect}: ceilings {ceilings}, ratios {result['ceiling_ratio_to_alertmanager']}")
    print(f"{dialect}: p99 ÷ Alertmanager's, by rate: {result['p99_ratio_to_alertmanager']}")
    if not args.no_threshold_storm:
        result["threshold_storm"] = threshold_storm(systems, sink, grid, args.connections)
    return result


def main() -> None:
    """Run the benchmark; print the machine, each step, and one JSON line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rates", default="10,100,1000,3000", help="new alerts per second")
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="seconds of new alerts per rate"
    )
    parser.add_argument("--post", choices=["batch", "single"], default="batch")
    parser.add_argument("--search", type=int, default=2, help="extra rates probed for the ceiling")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--no-threshold-storm", action="store_true")
    parser.add_argument(
        "--tocsin-processes",
        default="1,2",
        type=lambda text: [int(x) for x in text.split(",")],
        help="Tocsin deployments to run: 1 = serve alone, 2 = serve + notify run",
    )
    args = parser.parse_args()
    machine = describe()
    print("machine:", json.dumps(machine), "load:", os.getloadavg(), flush=True)
    grid = Grid(cells=args.cells)
    results: dict[str, Any] = {
        "machine": machine,
        "load_average_at_start": os.getloadavg(),
        "post": args.post,
        "seconds_per_rate": args.seconds,
    }
    for dialect in ("sqlite", "postgresql"):
        if args.db not in (dialect, "both"):
            continue
        with ExitStack() as stack:
            results[dialect] = run_dialect(dialect, args, grid, stack)
    results["load_average_at_end"] = os.getloadavg()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
