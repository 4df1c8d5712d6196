"""Public report benchmark: reports accepted and routed per second among 100,000 grid cells.

    python bench/reports.py [--driver wrk|open|httpx] [--seconds 20] [--connections 32]
                            [--rate 1000] [--db sqlite|postgres] [--notify] [--cells 100000]

Set-up (not timed): a configuration of one nation divided into `cells` square grid cells of
0.01 degree (a GeoJSON regions file), one national unit and the packaged report types.

1. Routing, in this process: the bucket index over the cells is built, then `--points` random
   points are located with it; the same points' first 300 are located by scanning every region
   (the reference), for the ratio.
2. End to end: `tocsin serve` in its own process over SQLite (or a throw-away PostgreSQL with
   fsync off). With `--notify`, `serve` runs without its background workers and `tocsin notify
   run` beside it against the same database (the two-process deployment: the warning
   dispatcher outside the API process); the figures name the deployment. Reports are
   form-encoded Open311 POSTs as any app sends them: 70% spread over the whole grid, 30% gas
   smells around 20 hot spots, so that clusters form and raise warnings in the same path;
   every description is unique, so none is a duplicate. A report is accepted when answered 200
   with a request id; any other answer is counted as refused. The load generator (`--driver`):
   - `wrk` (default): Debian's wrk with bench/reports.lua (2 threads). A warm-up of 2 s on 2
     connections (not in the figures, but its reports are checked below); `/healthz` for
     `--seconds` on `--connections` (the HTTP stack's ceiling on this machine, in the same
     run); then reports for `--seconds` on `--connections`. The rate is accepted reports over
     wrk's duration; the latency percentiles are wrk's.
   - `open`: an open loop (bench/open_loop.py) in this process: reports due at `--rate` a
     second whatever the answers do, each latency counted from when the report was due (wrk
     offers less load as the server slows and does not count the time a stalled server holds
     its next request back). A warm-up of 2 s at a tenth of the rate; `/healthz` at the rate
     for `--seconds`; then reports at the rate for `--seconds`. The rate is accepted reports
     from the first one due to the last answer: under the rate offered when the server fell
     behind. The client's own lateness in sending is printed too. At most `--open-connections`
     (64) are open, as a proxy in front of the API keeps a pool of upstream connections
     (docs/deployment.md): a report due when all are busy waits in the client, and its wait
     counts in its latency.
   - `httpx`: an independent Open311 client in this process, `--clients` threads: 3,000
     `/healthz`, then `--reports` reports; rate and percentiles measured at the client.
   The server's resident memory (and `notify run`'s) is sampled every 0.1 s; the peak is
   printed.
3. Afterwards the server is stopped (it commits what is queued) and the database is read:
   every accepted report, the warm-up's included, must be stored, or the run fails (a few more
   may be: requests in flight as wrk stopped are stored but not counted); those routed to a
   cell, the clusters and their warnings are counted (clustering runs inside each report's
   transaction, so the rate above includes it).

The last line printed is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import open_loop
from api_ingest import DEV, RssSampler, server, token
from machine import describe
from storm_systems import cpu_seconds
from tocsin.adapters.config_yaml import load_catalog
from tocsin.core.geometry import contains
from tocsin.core.report_routing import RegionIndex
from tocsin.core.reports import Point

KEY = "bench-open311-key-0123456789"
SIZE = 0.01  # degrees
ORIGIN = (10.0, 45.0)  # lon, lat
LUA = Path(__file__).resolve().parent / "reports.lua"
WARMUP_S = 2  # wrk's warm-up: seconds and connections
WARMUP_CONNECTIONS = 2
HEALTHZ_REQUESTS = 3_000  # the httpx driver's /healthz phase
FORM_PATH = "/open311/v2/requests.json"


def grid_shape(cells: int) -> tuple[int, int]:
    """Columns and rows of a near-square grid of at least `cells` cells."""
    cols = int(np.ceil(np.sqrt(cells)))
    return cols, int(np.ceil(cells / cols))


def write_config(folder: Path, cells: int) -> tuple[int, int]:
    """The nation and its grid cells (GeoJSON), one national unit; the grid's shape."""
    folder.mkdir(parents=True, exist_ok=True)
    cols, rows = grid_shape(cells)
    x0, y0 = ORIGIN
    features = []
    for i in range(cells):
        c, r = i % cols, i // cols
        x, y = round(x0 + c * SIZE, 4), round(y0 + r * SIZE, 4)
        ring = [[x, y], [x + SIZE, y], [x + SIZE, y + SIZE], [x, y + SIZE], [x, y]]
        ring = [[round(a, 4), round(b, 4)] for a, b in ring]
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "code": f"C{c}_{r}",
                    "name": f"Cell {c}/{r}",
                    "level": "cell",
                    "parent": "N",
                },
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    (folder / "cells.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features})
    )
    w, h = cols * SIZE, rows * SIZE
    nation = [[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h], [x0, y0]]
    regions = {
        "levels": ["nation", "cell"],
        "regions": [
            {
                "code": "N",
                "name": "Nation",
                "level": "nation",
                "geometry": {"type": "Polygon", "coordinates": [nation]},
            }
        ],
        "geojson": ["cells.geojson"],
    }
    (folder / "regions.yaml").write_text(yaml.safe_dump(regions))
    (folder / "units.yaml").write_text(
        yaml.safe_dump({"units": [{"code": "NAT", "name": "National office", "region": "N"}]})
    )
    return cols, rows


def routing(config: Path, *, points: int, seed: int) -> dict[str, float]:
    """Index build time, lookups per second, and the speed-up over scanning every region."""
    catalog = load_catalog(config)
    started = time.perf_counter()
    index = RegionIndex.build(catalog.regions)
    built = time.perf_counter() - started
    rng = random.Random(seed)
    x0, y0 = ORIGIN
    cols, rows = grid_shape(len(catalog.regions.regions) - 1)
    sample = [
        Point(y0 + rng.uniform(0, rows * SIZE), x0 + rng.uniform(0, cols * SIZE))
        for _ in range(points)
    ]
    started = time.perf_counter()
    found = [index.locate(p) for p in sample]
    indexed = (time.perf_counter() - started) / points
    regions = [r for r in catalog.regions.regions.values() if r.geometry is not None]
    regions.sort(key=lambda r: r.level != "cell")  # the smallest first, as the index orders
    started = time.perf_counter()
    for p, expected in zip(sample[:300], found[:300], strict=True):
        scanned = next(
            (r.code for r in regions if r.geometry and contains(r.geometry, p.lon, p.lat)), None
        )
        if scanned != expected:
            raise SystemExit(f"the index found {expected} for {p}, the scan {scanned}")
    scan = (time.perf_counter() - started) / 300
    return {
        "index_build_s": round(built, 2),
        "lookups_per_s": round(1 / indexed),
        "lookup_us": round(indexed * 1e6, 1),
        "scan_lookup_ms": round(scan * 1e3, 2),
        "index_speedup_vs_scan": round(scan / indexed),
    }


@contextmanager
def report_server(
    url: str, config: Path, work: Path, *, notify: bool
) -> Iterator[tuple[str, dict[str, int]]]:
    """`tocsin serve` with an app key and no effective rate limit (and `tocsin notify run`
    beside it when `notify`); yields its base URL and the process ids by role."""
    settings = {
        "TOCSIN_ENV": "dev",  # the published development keys: nothing here is kept
        "TOCSIN_OPEN311_API_KEYS": f"bench:{KEY}",
        "TOCSIN_REPORT_RATE_PER_CLIENT_PER_MINUTE": "10000000",
        "TOCSIN_REPORT_RATE_PER_RANGE_PER_10_MINUTES": "10000000",
    }
    if notify:  # the dispatcher and timers run in `notify run` (as bench/storm.py's tocsin-2p)
        settings["TOCSIN_BACKGROUND_WORKERS"] = "false"
    with server(url, config, work, settings=settings) as (base, proc):
        settle(proc)  # what it does after answering /healthz is not timed
        if not notify:
            yield base, {"serve": proc.pid}
            return
        with notifier(url, config, work) as helper:
            yield base, {"serve": proc.pid, "notify": helper.pid}


@contextmanager
def notifier(url: str, config: Path, work: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`tocsin notify run` on the database, once it has settled after loading the
    configuration; it must still be running at the end."""
    log_path = work / "notify.log"
    log = log_path.open("wb")
    command = [sys.executable, "-m", "tocsin", "notify", "run", "--db", url]
    proc = subprocess.Popen(
        [*command, "--config", str(config)],
        env={**os.environ, **DEV, "TOCSIN_DATABASE_URL": url},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        settle(proc)
        if proc.poll() is not None:
            raise stopped("tocsin notify run stopped at start", log_path)
        yield proc
        if proc.poll() is not None:
            raise stopped("tocsin notify run stopped during the run", log_path)
    finally:
        proc.terminate()
        proc.wait(timeout=120)
        log.close()


def stopped(what: str, log: Path) -> SystemExit:
    """The exit for a process that stopped: what happened and the end of its log."""
    return SystemExit(f"{what}:\n{log.read_text(errors='replace')[-2_000:]}")


def settle(proc: subprocess.Popen[bytes], *, cap_s: float = 300.0) -> None:
    """Wait until a process uses under 15% of a core over a second (it has loaded what it
    needs), stops, or `cap_s` passed (as storm_systems.System.wait_idle)."""
    started = time.monotonic()
    while time.monotonic() - started < cap_s and proc.poll() is None:
        before = cpu_seconds(proc.pid)
        time.sleep(1.0)
        if cpu_seconds(proc.pid) - before < 0.15:
            return


def forms(n: int, *, grid: tuple[int, int], seed: int) -> list[dict[str, str]]:
    """`n` report forms: 70% anywhere, 30% gas smells near 20 hot spots."""
    rng = random.Random(seed)
    cols, rows = grid
    x0, y0 = ORIGIN
    spots = [
        (y0 + rng.uniform(0, rows * SIZE), x0 + rng.uniform(0, cols * SIZE)) for _ in range(20)
    ]
    out = []
    for i in range(n):
        if rng.random() < 0.3:
            lat, lon = rng.choice(spots)
            lat, lon = lat + rng.gauss(0, 0.0005), lon + rng.gauss(0, 0.0005)
            service, extra = "gas_smell", {"attribute[strength]": "strong"}
        else:
            lat, lon = y0 + rng.uniform(0, rows * SIZE), x0 + rng.uniform(0, cols * SIZE)
            service, extra = rng.choice(
                [("smoke_fire", {}), ("landslide", {}), ("power_line_down", {})]
            )
        out.append(
            {
                "api_key": KEY,
                "service_code": service,
                "lat": f"{lat:.6f}",
                "long": f"{lon:.6f}",
                "description": f"bench report {i}",
                **extra,
            }
        )
    return out


def load(base: str, jobs: list[Any], *, clients: int) -> tuple[float, list[float], int]:
    """Send the jobs (a form to POST, or None for GET /healthz) from `clients` threads: the
    elapsed seconds, each latency, and how many answers were not 200."""
    latencies: list[float] = []
    bad = 0
    lock = threading.Lock()
    queue = list(reversed(jobs))

    def worker() -> None:
        nonlocal bad
        with httpx.Client(base_url=base, timeout=60) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    job = queue.pop()
                started = time.perf_counter()
                if job is None:
                    answer = client.get("/healthz")
                    ok = answer.status_code == 200
                else:
                    answer = client.post("/open311/v2/requests.json", data=job)
                    ok = answer.status_code == 200 and "service_request_id" in answer.json()[0]
                took = time.perf_counter() - started
                with lock:
                    latencies.append(took)
                    bad += 0 if ok else 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies, bad


def lua_settings(grid: tuple[int, int], *, seed: int) -> dict[str, str]:
    """reports.lua's environment: the app's key, the grid's corner and size, the seed."""
    cols, rows = grid
    return {
        "KEY": KEY,
        "ORIGIN_LON": str(ORIGIN[0]),
        "ORIGIN_LAT": str(ORIGIN[1]),
        "COLS_DEG": f"{cols * SIZE:.4f}",
        "ROWS_DEG": f"{rows * SIZE:.4f}",
        "SEED": str(seed),
    }


def wrk(base: str, *, connections: int, seconds: int, env: dict[str, str]) -> dict[str, Any]:
    """One wrk run of reports.lua (MODE and TAG in `env`); its JSON line."""
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s"]
    out = subprocess.run(
        [*command, "--timeout", "10s", "-s", str(LUA), base],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    last = (out.stdout.strip().splitlines() or [""])[-1]
    if not last.startswith("{"):
        raise SystemExit(f"wrk printed no figures:\n{out.stdout}\n{out.stderr}")
    figures: dict[str, Any] = json.loads(last)
    return figures


def drive_wrk(base: str, *, grid: tuple[int, int], args: argparse.Namespace) -> dict[str, Any]:
    """wrk's phases (warm-up, /healthz, reports); the figures, with the reports accepted."""
    env = lua_settings(grid, seed=args.seed)
    warm = wrk(
        base,
        connections=WARMUP_CONNECTIONS,
        seconds=WARMUP_S,
        env={**env, "MODE": "reports", "TAG": "warmup"},
    )
    n, seconds = args.connections, args.seconds
    health = wrk(base, connections=n, seconds=seconds, env={**env, "MODE": "healthz"})
    reports = wrk(
        base, connections=n, seconds=seconds, env={**env, "MODE": "reports", "TAG": "timed"}
    )
    rate = reports["accepted"] / reports["duration_s"]
    health_rate = health["accepted"] / health["duration_s"]
    return {
        "connections": n,
        "seconds": seconds,
        "reports_per_s": round(rate),
        "p50_ms": reports["p50_ms"],
        "p90_ms": reports["p90_ms"],
        "p99_ms": reports["p99_ms"],
        "refused": reports["other"],
        "socket_errors": reports["socket_errors"],
        "timeouts": reports["timeouts"],
        "healthz_per_s": round(health_rate),
        "ratio_to_healthz": round(rate / health_rate, 3),
        "healthz_p99_ms": health["p99_ms"],
        "healthz_refused": health["other"],
        "accepted": reports["accepted"],
        "warmup_accepted": warm["accepted"],
        "warmup_refused": warm["other"],
    }


def drive_httpx(base: str, *, grid: tuple[int, int], args: argparse.Namespace) -> dict[str, Any]:
    """The httpx client's phases (/healthz, then `--reports` reports); the figures, with the
    reports accepted."""
    health_s, health_lat, _ = load(base, [None] * HEALTHZ_REQUESTS, clients=args.clients)
    jobs = forms(args.reports, grid=grid, seed=args.seed)
    took, latencies, bad = load(base, jobs, clients=args.clients)
    rate = (args.reports - bad) / took
    health_rate = HEALTHZ_REQUESTS / health_s
    return {
        "clients": args.clients,
        "reports": args.reports,
        "reports_per_s": round(rate),
        "p50_ms": percentile(latencies, 50),
        "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99),
        "refused": bad,
        "healthz_per_s": round(health_rate),
        "ratio_to_healthz": round(rate / health_rate, 3),
        "healthz_p99_ms": percentile(health_lat, 99),
        "accepted": args.reports - bad,
        "warmup_accepted": 0,
    }


def drive_open(base: str, *, grid: tuple[int, int], args: argparse.Namespace) -> dict[str, Any]:
    """The open loop's phases (bench/open_loop.py): a warm-up of 2 s at a tenth of `--rate`,
    `/healthz` at `--rate` for `--seconds` (the HTTP stack at the same rate), then reports at
    `--rate` for `--seconds`; the figures, with the reports accepted."""
    host = base.split("//", 1)[1]
    form = "application/x-www-form-urlencoded"

    def report_requests(n: int, tag: str, seed: int) -> list[bytes]:
        out = []
        for f in forms(n, grid=grid, seed=seed):
            f["description"] = f"{tag} {f['description']}"  # none repeats an earlier phase's
            out.append(open_loop.post(FORM_PATH, host, urlencode(f).encode(), form))
        return out

    def report_accepted(status: int, body: bytes) -> bool:
        return status == 200 and b"service_request_id" in body

    rate, seconds = args.rate, args.seconds
    warm_rate = max(rate / 10, 1)
    warm = open_loop.drive(
        base,
        report_requests(int(warm_rate * WARMUP_S), "warmup", args.seed + 1),
        rate=warm_rate,
        accepted=report_accepted,
        max_connections=args.open_connections,
    )
    health = open_loop.drive(
        base,
        [open_loop.get("/healthz", host)] * int(rate * seconds),
        rate=rate,
        accepted=lambda status, _body: status == 200,
        max_connections=args.open_connections,
    )
    reports = open_loop.drive(
        base,
        report_requests(int(rate * seconds), "timed", args.seed),
        rate=rate,
        accepted=report_accepted,
        max_connections=args.open_connections,
    )
    return {
        "rate": rate,
        "open_connections": args.open_connections,
        "seconds": seconds,
        **{k: v for k, v in reports.items() if k != "wall_s"},
        "ratio_to_offered": round(float(reports["reports_per_s"]) / rate, 3),
        "healthz_per_s": health["reports_per_s"],
        "healthz_p99_ms": health["p99_ms"],
        "healthz_refused": health["refused"] + health["errors"],
        "ratio_to_healthz": round(
            float(reports["reports_per_s"]) / max(float(health["reports_per_s"]), 1), 3
        ),
        "warmup_accepted": warm["accepted"],
        "warmup_refused": warm["refused"] + warm["errors"],
    }


def stored(url: str, *, accepted: int) -> dict[str, int]:
    """Reports stored, routed to a cell, clustered with others; cluster warnings raised. Exits
    with a message when fewer reports are stored than were `accepted`."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:

        def one(sql: str) -> int:
            """The one integer a query answers."""
            return int(conn.execute(text(sql)).scalar_one())

        out = {
            "stored": one("SELECT count(*) FROM reports"),
            "routed_to_cells": one("SELECT count(*) FROM reports WHERE region LIKE 'C%'"),
            "in_shared_clusters": one("SELECT count(*) FROM reports WHERE cluster != id"),
            "cluster_warnings": one("SELECT count(*) FROM warnings WHERE source = 'reports'"),
        }
    engine.dispose()
    print(f"accepted {accepted:,} reports (warm-up included), stored {out['stored']:,}")
    if out["stored"] < accepted:
        raise SystemExit(
            f"FAILED: {accepted - out['stored']:,} accepted reports are not stored "
            f"(accepted {accepted:,}, stored {out['stored']:,})"
        )
    return {**out, "accepted_total": accepted}


def group_commits(base: str, url: str) -> dict[str, float]:
    """The reports' group commits so far, from the server's /metrics (an administrator's
    token made for it): commits, reports committed, reports per commit."""
    found: dict[str, float] = {}
    answer = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token(url)}"})
    for line in answer.text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("tocsin_reports_commits_total", "tocsin_reports_committed_total"):
            found[name.removeprefix("tocsin_reports_")] = float(value)
    commits = found.get("commits_total", 0.0)
    found["reports_per_commit"] = round(found.get("committed_total", 0.0) / max(commits, 1), 1)
    return found


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile in milliseconds."""
    return round(float(np.percentile(np.array(values), q)) * 1e3, 1)


def end_to_end(
    args: argparse.Namespace, work: Path, grid: tuple[int, int]
) -> tuple[dict[str, Any], dict[str, int]]:
    """The server (and notifier) under the chosen driver, its RSS peaks sampled; then the
    stored reports, checked against those accepted."""
    drive = {"wrk": drive_wrk, "httpx": drive_httpx, "open": drive_open}[args.driver]
    with database(args.db, work) as url:
        with (
            report_server(url, work / "config", work, notify=args.notify) as (base, pids),
            ExitStack() as stack,
        ):
            rss = {role: stack.enter_context(RssSampler(pid)) for role, pid in pids.items()}
            run = drive(base, grid=grid, args=args)
            run |= group_commits(base, url)
        run |= {f"{role}_rss_peak_mb": round(r.peak_kb / 1024) for role, r in rss.items()}
        counts = stored(url, accepted=run["accepted"] + run["warmup_accepted"])
    return run, counts


def arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--driver", choices=["wrk", "httpx", "open"], default="wrk")
    parser.add_argument("--rate", type=float, default=1_000, help="the open loop's reports/s")
    parser.add_argument(
        "--open-connections",
        type=int,
        default=64,
        help="the open loop's connections at most (a proxy's upstream keep-alive pool)",
    )
    parser.add_argument("--seconds", type=int, default=20, help="each wrk phase's length")
    parser.add_argument("--connections", type=int, default=32, help="wrk's connections")
    parser.add_argument("--notify", action="store_true", help="run `tocsin notify run` too")
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--reports", type=int, default=4_000, help="the httpx driver's reports")
    parser.add_argument("--clients", type=int, default=16, help="the httpx driver's threads")
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    if args.driver == "wrk" and shutil.which("wrk") is None:
        parser.exit(2, "wrk is not installed (Debian package 'wrk'); or use --driver httpx\n")
    return args


def main() -> None:
    """Run the benchmark and print its figures."""
    args = arguments()
    machine = describe()
    print(f"machine: {json.dumps(machine)}; load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        grid = write_config(work / "config", args.cells)
        route = routing(work / "config", points=args.points, seed=args.seed)
        print(f"routing among {args.cells:,} cells: {json.dumps(route)}")
        run, counts = end_to_end(args, work, grid)
    figures = {
        "bench": "reports",
        "driver": args.driver,
        "deployment": "serve+notify" if args.notify else "serve",
        "db": args.db,
        "cells": args.cells,
        **run,
        **route,
        **counts,
        "target_reports_per_s": 1_000,
        "target_p99_ms": 100,
        "load_average_after": os.getloadavg(),
        "machine": machine,
    }
    print(
        f"{run['reports_per_s']:,} reports/s, p50 {run['p50_ms']} ms, p99 {run['p99_ms']} ms "
        f"({run['refused']} refused); /healthz {run['healthz_per_s']:,}/s, "
        f"p99 {run['healthz_p99_ms']} ms; RSS peak: serve {run['serve_rss_peak_mb']} MB"
        + (f", notify run {run['notify_rss_peak_mb']} MB" if args.notify else "")
    )
    print(json.dumps(figures))


@contextmanager
def database(kind: str, work: Path) -> Iterator[str]:
    """A SQLite file, or a throw-away PostgreSQL cluster (fsync off)."""
    if kind == "sqlite":
        yield f"sqlite:///{work / 'reports.db'}"
        return
    from tocsin.testing.postgres import create_database, postgres_cluster

    with postgres_cluster() as pg:
        yield create_database(pg, "reports")


if __name__ == "__main__":
    main()
