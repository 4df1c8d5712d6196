"""Scale-out benchmark: observations per second through the stream roles with 1, 2 and 4 workers.

    python bench/scale.py [--workers 1,2,4] [--seconds 10] [--batch 1000] [--indicators 10000]
                          [--notify-rate 100000] [--notify-seconds 40] [--kill-at 20]

For each number of workers N, in one run, on a throw-away PostgreSQL cluster (fsync off) and a
real `nats-server` with JetStream (both started here, as the test suite starts them):

1. a fresh database and a fresh stream (`TOCSIN_STREAM_NAME` per N, 16 partitions);
2. `tocsin serve --role api` in its own process and N `tocsin worker --index i --workers N`
   processes, each owning an even share of the partitions;
3. Debian's `wrk` with `api_ingest.lua` posts batches of `--batch` observations (new keys,
   values below every threshold) for `--seconds`; the API answers once the stream holds a batch;
4. the workers are left to drain the stream; the stored observations are counted every 0.2 s
   until every acknowledged one is stored.

Printed per N: what the API accepted (obs/s), what the workers stored end to end (acknowledged
observations ÷ the time from the first post to the last one stored), the lag after the load
stopped, the workers' peak RSS, and the efficiency against one worker (rate N ÷ (N × rate 1)).
This machine has two cores shared by wrk, the API process, the workers, PostgreSQL and NATS:
the curve says how the roles share a small machine, not what more machines would give.

Then, in the same run (bench/scale_notify.py; `--notify-rate 0` skips it): observation →
notification latency at `--notify-rate` observations a second through the stream, with two
workers and a pair of `tocsin notify run` processes, and the dispatcher's failover when the
active one is killed `--kill-at` seconds in. The last line printed is a JSON object of the
figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_ingest import DEV, T0, RssSampler, server, stored, token, wrk
from ingest import write_config
from machine import describe
from scale_notify import notification_phase, workers
from tocsin.testing.nats import NatsServer, nats_server
from tocsin.testing.postgres import create_database, postgres_cluster

PARTITIONS = 16
DRAIN_LIMIT_S = 300.0


def one_size(
    n: int, pg: str, nats: NatsServer, config: Path, work: Path, args: argparse.Namespace
) -> dict[str, float]:
    """The figures with N workers."""
    url = create_database(pg, f"scale{n}")
    stream = {
        "TOCSIN_STREAM_URL": nats.url,
        "TOCSIN_STREAM_NAME": f"TOCSIN_SCALE_{n}",
        "TOCSIN_STREAM_SUBJECT": f"tocsin.scale{n}",
        "TOCSIN_STREAM_PARTITIONS": str(PARTITIONS),
    }
    env = {**os.environ, **DEV, "TOCSIN_DATABASE_URL": url, **stream}
    api = {**stream, "TOCSIN_ROLE": "api", "TOCSIN_BACKGROUND_WORKERS": "false"}
    with server(url, config, work, settings=api) as (base, _proc):
        bearer = token(url)
        with workers(n, url, config, env, work) as procs, ExitStack() as samplers:
            rss = [samplers.enter_context(RssSampler(p.pid)) for p in procs]
            before = stored(url)
            started = time.monotonic()
            figures = wrk(
                base,
                batch=args.batch,
                connections=args.connections,
                seconds=args.seconds,
                env={
                    "TOCSIN_TOKEN": bearer,
                    "INDICATORS": str(args.indicators),
                    "TIME0": str(T0 + n * 10_000_000),
                },
            )
            load_s = time.monotonic() - started
            acked = figures["acked"] * args.batch
            count = stored(url) - before
            while count < acked and time.monotonic() - started < DRAIN_LIMIT_S:
                time.sleep(0.2)
                count = stored(url) - before
            done_s = time.monotonic() - started
            rss_mb = max(r.peak_kb for r in rss) / 1024
            db_bytes = database_bytes(url)
            stream_bytes = stream_size(nats, stream["TOCSIN_STREAM_NAME"])
    return {
        "workers": n,
        "api_accepted_obs_per_s": round(acked / figures["duration_s"]),
        "api_p99_ms": figures["p99_ms"],
        "acknowledged": acked,
        "stored": count,
        "all_stored": count >= acked,
        "end_to_end_obs_per_s": round(count / done_s),
        "lag_after_load_s": round(max(done_s - load_s, 0.0), 2),
        "worker_rss_peak_mb": round(rss_mb),
        "database_bytes_per_obs": round(db_bytes / max(count, 1), 1),
        "stream_bytes_per_obs": round(stream_bytes / max(acked, 1), 1),
    }


def database_bytes(url: str) -> int:
    """The database's size on disk (tables, indexes, the catalogue)."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


def stream_size(nats: NatsServer, name: str) -> int:
    """The bytes a JetStream stream holds (the server's monitoring endpoint)."""
    with urllib.request.urlopen(
        f"http://127.0.0.1:{nats.monitor}/jsz?streams=true", timeout=5
    ) as answer:
        info = json.load(answer)
    for account in info.get("account_details", []):
        for detail in account.get("stream_detail", []):
            if detail.get("name") == name:
                return int(detail["state"]["bytes"])
    return 0


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--indicators", type=int, default=10_000)
    parser.add_argument("--notify-rate", type=int, default=100_000, help="obs/s; 0: skip part 2")
    parser.add_argument("--notify-seconds", type=float, default=40.0)
    parser.add_argument("--kill-at", type=float, default=20.0, help="s into part 2")
    args = parser.parse_args()
    sizes = [int(x) for x in args.workers.split(",") if x]
    machine = describe()
    print(f"machine: {machine}; load average before: {os.getloadavg()}")
    rows: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="tocsin-scale-") as tmp:
        work = Path(tmp)
        config = work / "config"
        write_config(config, args.indicators)
        with postgres_cluster() as pg, nats_server() as nats:
            for n in sizes:
                row = one_size(n, pg, nats, config, work, args)
                rows.append(row)
                print(
                    f"  {n} worker(s): API accepted {row['api_accepted_obs_per_s']:,} obs/s "
                    f"(p99 {row['api_p99_ms']:.0f} ms), stored end to end "
                    f"{row['end_to_end_obs_per_s']:,} obs/s, lag after the load "
                    f"{row['lag_after_load_s']} s, worker RSS {row['worker_rss_peak_mb']} MB, "
                    f"{'all stored' if row['all_stored'] else 'NOT ALL STORED'}",
                    flush=True,
                )
            notify = None
            if args.notify_rate:
                notify = notification_phase(
                    pg,
                    nats,
                    work,
                    rate=args.notify_rate,
                    batch=args.batch,
                    indicators=args.indicators,
                    seconds=args.notify_seconds,
                    kill_at=args.kill_at,
                )
                print(f"  notifications: {json.dumps(notify)}", flush=True)
    base = next((r for r in rows if r["workers"] == 1), None)
    for row in rows:
        if base is not None:
            ideal = row["workers"] * base["end_to_end_obs_per_s"]
            row["efficiency_vs_one"] = round(row["end_to_end_obs_per_s"] / ideal, 2)
    print(
        json.dumps(
            {
                "bench": "scale",
                "batch": args.batch,
                "seconds": args.seconds,
                "partitions": PARTITIONS,
                "sizes": rows,
                "notifications": notify,
                "machine": machine,
                "load_average_after": os.getloadavg(),
            }
        )
    )


if __name__ == "__main__":
    main()
