"""Warning pipeline latency: observation arrival -> notification handed to the channel.

100,000 active series (threshold indicators) receive 100,000 observations per second in
batches every 100 ms (each series one observation per second). Each second a fixed number of
series cross their yellow threshold (raise) and the series raised some seconds before fall back
(lift). The full serving path runs: IngestService (one transaction per batch, publish after
commit) -> dispatcher thread (reads the committed audit feed, routes, groups with group_wait 0,
silences/inhibition, outbox) -> delivery thread -> channel. The channel records the moment it
is handed each notification; the latency of a raise is that moment minus the moment the batch
holding the raising observation was due (its slot in the 100 ms schedule; wall clock,
`time.perf_counter`), so time spent waiting behind a slow ingest counts.

Resolved notifications are not timed: by design they wait for the group interval.

    python bench/warnings.py                   # SQLite and PostgreSQL (throw-away cluster)
    python bench/warnings.py --dialect sqlite --seconds 30
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from machine import describe
from tocsin.adapters.storage.engine import make_engine, migrate
from tocsin.adapters.storage.sql.store import SqlStore
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.catalog import Catalog
from tocsin.core.domains import Domain, DomainCode
from tocsin.core.indicators import Indicator, IndicatorCode, Thresholds
from tocsin.core.observations import ObservationBatch
from tocsin.core.regions import Region, RegionCode, RegionTree
from tocsin.core.units import ResponsibleUnit, UnitCode
from tocsin.core.warnings.config import AlertingConfig
from tocsin.core.warnings.outbox import Channel, Notification
from tocsin.core.warnings.routing import Route, Timing
from tocsin.services.admin import AdminService
from tocsin.services.background import start_background

SERIES = 100_000
RATE = 100_000  # observations per second
TICK = 0.1  # seconds between batches
RAISES_PER_S = 50
LIFT_AFTER_S = 5


def catalog(n: int) -> Catalog:
    """A nation, 10 provinces, 100 districts, n indicators spread over the districts."""
    regions = [Region(RegionCode("N"), "Nation", "nation")]
    regions += [
        Region(RegionCode(f"P{p}"), f"P{p}", "province", RegionCode("N")) for p in range(10)
    ]
    regions += [
        Region(RegionCode(f"D{d}"), f"D{d}", "district", RegionCode(f"P{d // 10}"))
        for d in range(100)
    ]
    tree = RegionTree.build(("nation", "province", "district"), regions)
    domains = {DomainCode("natural"): Domain(DomainCode("natural"), "Natural", "Met")}
    domains[DomainCode("natural.flood")] = Domain(
        DomainCode("natural.flood"), "Flood", "Met", DomainCode("natural")
    )
    indicators = tuple(
        Indicator(
            code=IndicatorCode(f"S{i:06d}"),
            name=f"series {i}",
            region=RegionCode(f"D{i % 100}"),
            domain=DomainCode("natural.flood"),
            unit="m",
            thresholds=Thresholds(yellow=3.0, red=5.0),
        )
        for i in range(n)
    )
    units = {
        UnitCode(f"U{d}"): ResponsibleUnit(
            UnitCode(f"U{d}"), f"unit {d}", RegionCode(f"D{d}"), (), None, f"http://sink/{d}"
        )
        for d in range(100)
    }
    return Catalog(tree, domains, indicators, {}, units)


@dataclass
class Channel_:
    """The bench's channel: records when it is handed each notification."""

    arrivals: dict[tuple[str, str], float]
    committed: dict[tuple[str, str], float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    after_commit: list[float] = field(default_factory=list)
    resolved: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, note: Notification) -> None:
        """Time a raise from its observation's arrival to now."""
        handed = time.perf_counter()
        if note.reason != "new":
            self.resolved += 1
            return
        for w in note.payload["firing"]:
            cause = w["cause"]
            key = (cause["indicator"], cause["time"])
            with self.lock:
                arrived = self.arrivals.get(key)
                committed = self.committed.get(key)
            if arrived is not None:
                self.latencies.append(handed - arrived)
            if committed is not None:
                self.after_commit.append(handed - committed)


def run(
    url: str, seconds: float, n: int, rate: int = RATE, *, pipeline: bool = True
) -> dict[str, object]:
    """Drive the pipeline for `seconds` and return the figures."""
    engine = make_engine(url)
    migrate(engine)
    AdminService(SqlStore(engine), _Clock()).apply_catalog(catalog(n), actor="bench")
    engine.dispose()
    config = AlertingConfig(
        root=Route(
            "0",
            group_by=("subject",),
            timing=Timing(timedelta(0), timedelta(seconds=60), timedelta(hours=4)),
        )
    )
    arrivals: dict[tuple[str, str], float] = {}
    channel = Channel_(arrivals)
    container = build(
        Settings(database_url=url, background_workers=True, env="dev"),
        channels={Channel.WEBHOOK: channel},
        alerting=config,
    )
    ids = np.array([container.rules.ids[f"S{i:06d}"] for i in range(n)], dtype=np.int64)
    stop = start_background(container, interval=0.05) if pipeline else (lambda: None)
    rng = np.random.default_rng(7)
    per_batch = int(rate * TICK)
    t0 = int(time.time()) - int(seconds) - 10
    raised: list[tuple[int, np.ndarray]] = []
    level = np.ones(n)
    pending = np.zeros(n, dtype=bool)  # raised, its crossing observation not yet sent
    expected = 0
    ingest_s: list[float] = []
    backlog_s: list[float] = []
    batches = int(seconds / TICK)
    start = time.perf_counter()
    for b in range(batches):
        second, slot = divmod(b, int(1 / TICK))
        first = (second * int(1 / TICK) + slot) * per_batch
        series = np.arange(first, first + per_batch) % n
        if slot == 0:
            fresh = rng.choice(n, RAISES_PER_S, replace=False)
            fresh = fresh[level[fresh] < 3.0]  # already raised: no new warning expected
            level[fresh] = 3.5
            pending[fresh] = True
            raised.append((second, fresh))
            while raised and raised[0][0] <= second - LIFT_AFTER_S:
                lifted = raised.pop(0)[1]
                level[lifted] = 1.0
                pending[lifted] = False
        obs_t = t0 + second
        values = level[series] + rng.normal(0, 0.01, series.size)
        batch = ObservationBatch(ids[series], np.full(series.size, obs_t, np.int64), values)
        iso = datetime.fromtimestamp(obs_t, UTC).isoformat()
        # an observation "arrives" when its batch is due, so a backlog in ingest counts too
        arrived = start + b * TICK
        handed = time.perf_counter()
        crossed = series[values >= 3.0]
        expected += int(pending[crossed].sum())
        pending[crossed] = False
        crossing = [(f"S{s:06d}", iso) for s in crossed]
        with channel.lock:
            for key in crossing:
                arrivals.setdefault(key, arrived)
        backlog_s.append(handed - arrived)
        container.ingest.ingest_batch(batch)
        done = time.perf_counter()
        ingest_s.append(done - handed)
        with channel.lock:
            for key in crossing:
                channel.committed.setdefault(key, done)
        lag = start + (b + 1) * TICK - time.perf_counter()
        if lag > 0:
            time.sleep(lag)
    behind = time.perf_counter() - (start + batches * TICK)
    deadline = time.perf_counter() + 10
    while pipeline and len(channel.latencies) < expected and time.perf_counter() < deadline:
        time.sleep(0.05)
    stop()
    container.close()
    lat = np.array(channel.latencies)
    pipe = np.array(channel.after_commit)

    def pct(values: np.ndarray | list[float], q: float) -> float | None:
        return round(float(np.percentile(values, q)), 4) if len(values) else None

    return {
        "series": n,
        "observations": batches * per_batch,
        "offered_obs_per_s": rate,
        "achieved_obs_per_s": round(batches * per_batch / (batches * TICK + max(behind, 0)), 1),
        "raises_expected": expected,
        "raises_notified": int(lat.size),
        "p50_s": round(float(np.percentile(lat, 50)), 4) if lat.size else None,
        "p99_s": round(float(np.percentile(lat, 99)), 4) if lat.size else None,
        "max_s": round(float(lat.max()), 4) if lat.size else None,
        "pipeline_after_commit_p50_s": pct(pipe, 50),
        "pipeline_after_commit_p99_s": pct(pipe, 99),
        "ingest_backlog_p50_s": pct(backlog_s, 50),
        "ingest_backlog_p99_s": pct(backlog_s, 99),
        "ingest_batch_p50_s": pct(ingest_s, 50),
        "ingest_batch_p99_s": pct(ingest_s, 99),
        "resolved_notifications": channel.resolved,
    }


class _Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def _postgres(base: Path) -> tuple[str, list[str]]:
    """Start a throw-away PostgreSQL cluster; return its URL and the stop command."""
    bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)[0]
    data = base / "data"
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    subprocess.run(
        [*as_pg, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"],
        check=True,
        capture_output=True,
    )
    port = 55432 + os.getpid() % 1000
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c synchronous_commit=on"
    subprocess.run(
        [
            *as_pg,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(base / "log"),
            "-w",
            "-o",
            opts,
            "start",
        ],
        check=True,
        capture_output=True,
    )
    stop = [*as_pg, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]
    return f"postgresql://postgres@127.0.0.1:{port}/postgres", stop


def main() -> None:
    """Run the benchmark and print the machine, the figures and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dialect", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--series", type=int, default=SERIES)
    parser.add_argument("--rate", type=int, default=RATE, help="observations per second")
    parser.add_argument(
        "--no-pipeline", action="store_true", help="ingest only (no dispatcher, no delivery)"
    )
    args = parser.parse_args()
    machine = describe()
    print("machine:", json.dumps(machine))
    results: dict[str, object] = {
        "machine": machine,
        "seconds": args.seconds,
        "pipeline": not args.no_pipeline,
        "load_average_at_start": os.getloadavg(),
    }
    work = Path(tempfile.mkdtemp(prefix="tocsin-bench-warnings-"))
    try:
        if args.dialect in ("sqlite", "both"):
            results["sqlite"] = run(
                f"sqlite:///{work / 'bench.db'}",
                args.seconds,
                args.series,
                args.rate,
                pipeline=not args.no_pipeline,
            )
            print("sqlite:", json.dumps(results["sqlite"]))
        if args.dialect in ("postgresql", "both"):
            pg_dir = Path(tempfile.mkdtemp(prefix="tocsin-bench-pg-"))
            url, stop = _postgres(pg_dir)
            try:
                results["postgresql"] = run(
                    url, args.seconds, args.series, args.rate, pipeline=not args.no_pipeline
                )
                print("postgresql:", json.dumps(results["postgresql"]))
            finally:
                subprocess.run(stop, check=False, capture_output=True)
                shutil.rmtree(pg_dir, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
