"""Public report benchmark: reports accepted and routed per second among 100,000 grid cells.

    python bench/reports.py [--cells 100000] [--reports 4000] [--clients 16] [--db sqlite|postgres]

Set-up (not timed): a configuration of one nation divided into `cells` square grid cells of
0.01 degree (a GeoJSON regions file), one national unit and the packaged report types.

1. Routing, in this process: the bucket index over the cells is built, then `--points` random
   points are located with it; the same points' first 300 are located by scanning every region
   (the reference), for the ratio.
2. End to end: `tocsin serve` in its own process over SQLite (or a throw-away PostgreSQL with
   fsync off), and an independent Open311 client here (httpx, form-encoded POSTs as any app
   sends them, `--clients` threads). First `/healthz` for a few seconds (the HTTP stack's
   ceiling on this machine, in the same run), then `--reports` reports: 70% spread over the
   whole grid, 30% gas smells around 20 hot spots, so that clusters form and raise warnings
   in the same path. Every answer must be 200 with a request id. Rate and latency percentiles
   are measured at the client.
3. Afterwards the database is read: every accepted report is stored and routed to a cell, and
   the clusters and their warnings are counted (clustering runs inside each report's
   transaction, so the rate above includes it).

The last line printed is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_ingest import server
from machine import describe
from tocsin.adapters.config_yaml import load_catalog
from tocsin.core.geometry import contains
from tocsin.core.report_routing import RegionIndex
from tocsin.core.reports import Point

KEY = "bench-open311-key-0123456789"
SIZE = 0.01  # degrees
ORIGIN = (10.0, 45.0)  # lon, lat


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
def report_server(url: str, config: Path, work: Path) -> Iterator[str]:
    """`tocsin serve` with an app key and no effective rate limit; yields its base URL."""
    settings = {
        "TOCSIN_ENV": "dev",  # the published development keys: nothing here is kept
        "TOCSIN_OPEN311_API_KEYS": f"bench:{KEY}",
        "TOCSIN_REPORT_RATE_PER_CLIENT_PER_MINUTE": "10000000",
        "TOCSIN_REPORT_RATE_PER_RANGE_PER_10_MINUTES": "10000000",
    }
    with server(url, config, work, settings=settings) as (base, _):
        yield base


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


def stored(url: str) -> dict[str, int]:
    """Reports stored, routed to a cell, clustered with others; cluster warnings raised."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        one = lambda sql: int(conn.execute(text(sql)).scalar_one())  # noqa: E731
        out = {
            "stored": one("SELECT count(*) FROM reports"),
            "routed_to_cells": one("SELECT count(*) FROM reports WHERE region LIKE 'C%'"),
            "in_shared_clusters": one("SELECT count(*) FROM reports WHERE cluster != id"),
            "cluster_warnings": one("SELECT count(*) FROM warnings WHERE source = 'reports'"),
        }
    engine.dispose()
    return out


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile in milliseconds."""
    return round(float(np.percentile(np.array(values), q)) * 1e3, 1)


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--reports", type=int, default=4_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    machine = describe()
    print(f"machine: {json.dumps(machine)}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        grid = write_config(work / "config", args.cells)
        route = routing(work / "config", points=args.points, seed=args.seed)
        print(f"routing among {args.cells:,} cells: {json.dumps(route)}")
        with database(args.db, work) as url, report_server(url, work / "config", work) as base:
            ceiling_s, ceiling_lat, _ = load(base, [None] * 3_000, clients=args.clients)
            jobs = forms(args.reports, grid=grid, seed=args.seed)
            took, latencies, bad = load(base, jobs, clients=args.clients)
            counts = stored(url)
    rate = args.reports / took
    figures = {
        "bench": "reports",
        "db": args.db,
        "cells": args.cells,
        "reports": args.reports,
        "clients": args.clients,
        "reports_per_s": round(rate),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "refused": bad,
        "healthz_per_s": round(3_000 / ceiling_s),
        "ratio_to_healthz": round(rate / (3_000 / ceiling_s), 3),
        "healthz_p99_ms": percentile(ceiling_lat, 99),
        **route,
        **counts,
        "target_reports_per_s": 1_000,
        "target_p99_ms": 100,
        "machine": machine,
    }
    print(f"{rate:,.0f} reports/s, p99 {figures['p99_ms']} ms ({bad} not accepted)")
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
