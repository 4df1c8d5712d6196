"""Sizing for a nation, checked by simulation (issue 21, docs/deployment.md "Sizing").

    python bench/sizing.py [--indicators 10000000] [--rate 1000000] [--partitions 96]
                           [--workers 8,12,16,20,24] [--seconds 1800] [--storm 2.0]

The inputs are figures measured on this project's machines (each named below with the run it
comes from); nothing here is tuned to make the answer come out. What the script simulates,
with the project's own code where it decides something:

1. **Skew.** `--indicators` codes (`R0000000.level` …) are put in partitions by
   `partition_of` (CRC-32, as every API process and worker does), and each partition's share of
   the observations is its share of the indicators (every indicator reports at the same
   cadence).
2. **Shares.** For each worker count W, the workers' partitions are worked out by
   `balanced_share`, the function the workers run, from an empty table.
3. **Load over time** (a fluid queue, one step a second): each worker receives its partitions'
   observations and works through them at its measured capacity. The load is `--rate`, times
   `--storm` for a storm of `--storm-minutes` ending five minutes before the run does, with
   Poisson noise per partition. At `--kill-at` seconds (before the storm) one worker dies: its
   partitions wait `lease_s` (its leases running out) and a third of it (the others' next
   look), then `balanced_share` gives them to the others, which first read the taken
   partitions' state (`--move-us-per-indicator`, measured), then work through the backlog the
   partitions kept in the stream.
   The lag is counted in whole steps: the delay within a second (a worker's batch, the
   dispatcher) is the measured observation → notification p99, not modelled here.
4. **Figures per W:** utilisation of the busiest worker in normal load and in the storm, the
   lag (backlog ÷ capacity) at the 99th percentile of observations and at its worst, how long
   the backlog of the dead worker's partitions takes to clear, the stream's size for the
   retention asked, and the memory of a worker (the catalogue held in full + the detector
   state of its own series).

Printed: the machine, a table, and last a JSON line of the figures. The smallest W whose p99
lag stays under `--lag-target` (1 s, the issue's observation → notification target less the
dispatcher's measured p99) through the storm and the kill is the recommendation.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe
from tocsin.core.detectors import make_detector
from tocsin.core.stream_partitions import balanced_share, partition_of

# measured inputs (docs/benchmarks.md, "Scale-out", bench/scale.py run of 2026-11-30 05:35 UTC,
# AMD EPYC 2 cores): CPU per 100,000 obs/s in batches of 1,000, by process
WORKER_CORE_PER_100K = 0.56
API_CORE_PER_100K = 0.37
PG_CORE_PER_100K = 0.44
NATS_CORE_PER_100K = 0.19
DB_BYTES_PER_OBS = (94, 116)
STREAM_BYTES_PER_OBS = 38
PROCESS_BASE_MB = 230.0  # RSS of a worker before its catalogue (same run, 10k vs 100k)
CATALOGUE_BYTES_PER_INDICATOR = 1_900  # every process holds the whole catalogue
# a worker taking partitions over reads their indicators' threshold rows and newest times:
# 37 ms for 1,090 indicators, 177 ms for 8,366, of 100,000 on PostgreSQL (2026-11-30)
MOVE_US_PER_INDICATOR = 25.0
DISPATCH_P99_S = 0.37  # probe → webhook p99 at 100,000 obs/s (same run): the rest of the budget


def machine_line() -> str:
    return " ".join(f"{k}={v}" for k, v in describe().items())


def partition_loads(indicators: int, partitions: int) -> np.ndarray:
    """Each partition's share of the indicators, by the partition function itself."""
    counts = np.zeros(partitions, dtype=np.int64)
    for start in range(0, indicators, 1_000_000):
        stop = min(indicators, start + 1_000_000)
        parts = np.fromiter(
            (zlib.crc32(f"R{i:07d}.level".encode()) % partitions for i in range(start, stop)),
            dtype=np.int64,
            count=stop - start,
        )
        counts += np.bincount(parts, minlength=partitions)
    for code in ("R0000000.level", f"R{indicators - 1:07d}.level"):  # the same function
        if partition_of(code, partitions) != zlib.crc32(code.encode()) % partitions:
            raise RuntimeError("partition_of is not CRC-32 of the code any more: update this")
    return counts / counts.sum()


def shares(workers: int, partitions: int, owners: dict[int, str]) -> dict[str, tuple[int, ...]]:
    """What each live worker owns once the table settles (each acts in turn, as they do)."""
    members = [f"w{i:03d}" for i in range(workers)] if not owners else sorted(set(owners.values()))
    table = dict(owners)
    for _ in range(3):
        for m in members:
            mine = balanced_share(m, members, table, partitions=partitions)
            table = {p: o for p, o in table.items() if o != m or p in mine}
            table.update({p: m for p in mine if p not in table})
    return {m: tuple(sorted(p for p, o in table.items() if o == m)) for m in members}


def detector_bytes(kind: str) -> float:
    """Bytes of learned state per series of a detector (its checkpoint's state arrays)."""
    detector = make_detector(kind)
    n = 16
    detector.score_batch(np.arange(n), np.full(n, 100), np.ones(n))
    saved = detector.checkpoint()
    total = sum(np.asarray(v).nbytes for k, v in saved.items() if k.startswith("state."))
    return total / int(saved["n_series"])


def simulate(
    args: argparse.Namespace, loads: np.ndarray, workers: int, rng: np.random.Generator
) -> dict[str, float]:
    """One run of the fluid queue with W workers; the figures."""
    capacity = 100_000 / WORKER_CORE_PER_100K * args.core_share  # obs/s per worker
    first = shares(workers, args.partitions, {})
    owner = {p: m for m, ps in first.items() for p in ps}
    alive = sorted(first)
    backlog = np.zeros(args.partitions)  # observations waiting in the stream, per partition
    resumes = dict.fromkeys(alive, 0.0)  # when a worker works again (after a state reload)
    dead = alive[len(alive) // 2]  # dies at --kill-at
    moved_at = args.kill_at + args.lease_s * (1 + 1 / 3)  # leases run out, the next look
    cleared_at = math.inf
    storm_to = args.seconds - 300  # the storm ends five minutes before the run does
    storm_from = storm_to - args.storm_minutes * 60
    lags: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    busiest = {"normal": 0.0, "storm": 0.0}  # before the kill, and in the storm
    for t in range(args.seconds):
        storm = storm_from <= t < storm_to
        arriving = rng.poisson(args.rate * (args.storm if storm else 1.0) * loads)
        backlog += arriving
        if t >= args.kill_at and dead in alive and t >= moved_at:  # the others take its share
            alive.remove(dead)
            kept = {p: m for p, m in owner.items() if m != dead}
            for m, ps in shares(len(alive), args.partitions, kept).items():
                taken = [p for p in ps if owner[p] != m]
                if taken:  # it reads the taken partitions' state: their indicators' rows
                    read = float(loads[taken].sum()) * args.indicators
                    resumes[m] = t + math.ceil(read * args.move_us_per_indicator / 1e6)
                owner.update(dict.fromkeys(ps, m))
        lag = np.zeros(args.partitions)
        for m in {*owner.values()}:
            mine = [p for p, o in owner.items() if o == m]
            working = t >= resumes[m] and not (m == dead and t >= args.kill_at)
            if working:
                waiting = backlog[mine].sum()
                done = min(waiting, capacity)
                if waiting > 0:
                    backlog[mine] *= 1 - done / waiting  # first in, first out across them
                key = "storm" if storm else "normal" if t < args.kill_at else ""
                if key:
                    busiest[key] = max(busiest[key], done / capacity)
            idle = max(0.0, (moved_at if m == dead else resumes[m]) - t) if not working else 0.0
            lag[mine] = backlog[mine].sum() / capacity + (idle if np.isfinite(idle) else 0.0)
        lags.append(lag)
        weights.append(arriving.astype(np.float64))
        calm = t < storm_from
        if calm and t > moved_at and cleared_at == math.inf and backlog.sum() < 0.05 * args.rate:
            cleared_at = t  # under 50 ms of load waiting: back to normal
    lag_all = np.concatenate(lags)
    weight = np.concatenate(weights)
    order = np.argsort(lag_all)
    cumulative = np.cumsum(weight[order]) / weight.sum()
    p99 = float(lag_all[order][min(len(order) - 1, np.searchsorted(cumulative, 0.99))])
    sizes = [len(ps) for ps in first.values()]
    return {
        "workers": workers,
        "capacity_per_worker_obs_s": round(capacity),
        "busiest_utilisation_normal": round(busiest["normal"], 3),
        "busiest_utilisation_storm": round(busiest["storm"], 3),
        "lag_p99_s": round(p99, 3),
        "lag_worst_s": round(float(lag_all.max()), 1),
        "kill_backlog_cleared_s": round(cleared_at - args.kill_at, 1)
        if cleared_at < math.inf
        else -1.0,
        "partitions_per_worker": f"{min(sizes)}-{max(sizes)}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--indicators", type=int, default=10_000_000)
    parser.add_argument("--rate", type=float, default=1_000_000.0, help="observations a second")
    parser.add_argument("--partitions", type=int, default=96)
    parser.add_argument("--workers", default="8,12,16,20,24")
    parser.add_argument("--seconds", type=int, default=1_800)
    parser.add_argument("--storm", type=float, default=2.0, help="load factor in the storm")
    parser.add_argument("--storm-minutes", type=float, default=10.0)
    parser.add_argument("--kill-at", type=int, default=300, help="a worker dies then")
    parser.add_argument("--lease-s", type=float, default=6.0, help="TOCSIN_LEASE_S")
    parser.add_argument(
        "--move-us-per-indicator",
        type=float,
        default=MOVE_US_PER_INDICATOR,
        help="a taken partition's state read, per indicator",
    )
    parser.add_argument(
        "--core-share", type=float, default=1.0, help="of a core a worker gets (1: its own)"
    )
    parser.add_argument("--detector", default="auto", help="the detector of every indicator")
    parser.add_argument("--retain-hours", type=float, default=6.0, help="TOCSIN_STREAM_MAX_AGE_H")
    parser.add_argument("--lag-target", type=float, default=1.0 - DISPATCH_P99_S)
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()

    print(machine_line())
    started = time.monotonic()
    loads = partition_loads(args.indicators, args.partitions)
    skew = float(loads.max() / loads.mean())
    per_series = detector_bytes(args.detector)
    rows = []
    for w in (int(x) for x in args.workers.split(",")):
        figures = simulate(args, loads, w, np.random.default_rng(args.seed))
        worst_share = max(sum(loads[list(ps)]) for ps in shares(w, args.partitions, {}).values())
        series = worst_share * args.indicators
        catalogue_gb = (
            PROCESS_BASE_MB * 1e6 + CATALOGUE_BYTES_PER_INDICATOR * args.indicators
        ) / 1e9
        figures["memory_per_worker_gb"] = round(catalogue_gb + per_series * series / 1e9, 1)
        figures["detector_state_per_worker_gb"] = round(per_series * series / 1e9, 2)
        rows.append(figures)
    good = [
        r
        for r in rows
        if r["lag_p99_s"] <= args.lag_target and r["busiest_utilisation_storm"] < 1.0
    ]
    for r in rows:
        print(
            f"W={r['workers']:>3}  partitions {r['partitions_per_worker']:>5}  "
            f"busiest {r['busiest_utilisation_normal']:.2f} normal / "
            f"{r['busiest_utilisation_storm']:.2f} storm  lag p99 {r['lag_p99_s']:.2f} s "
            f"worst {r['lag_worst_s']:.0f} s  kill cleared in {r['kill_backlog_cleared_s']:.0f} s"
            f"  memory {r['memory_per_worker_gb']} GB"
        )
    rate = args.rate
    summary = {
        "indicators": args.indicators,
        "rate_obs_s": rate,
        "partitions": args.partitions,
        "partition_skew_max_over_mean": round(skew, 4),
        "detector": args.detector,
        "detector_bytes_per_series": per_series,
        "recommended_workers": good[0]["workers"] if good else None,
        "api_processes_at_70pct": math.ceil(rate / 100_000 * API_CORE_PER_100K / 0.7),
        "postgres_cores_fsync_off": round(rate / 100_000 * PG_CORE_PER_100K, 1),
        "postgres_write_mb_s": [round(rate * b / 1e6) for b in DB_BYTES_PER_OBS],
        "nats_cores": round(rate / 100_000 * NATS_CORE_PER_100K, 1),
        "stream_gb_retained": round(rate * STREAM_BYTES_PER_OBS * args.retain_hours * 3600 / 1e9),
        "runs": rows,
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
