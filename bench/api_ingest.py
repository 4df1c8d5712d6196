"""REST ingest benchmark: observations per second through `POST /api/v1/observations`.

    python bench/api_ingest.py [--db sqlite|postgres|both] [--seconds 10] [--indicators 10000]
        [--sweep] [--connections PHASE=N ...] [--profile DIR]

For each database, in one run: `tocsin serve` in its own process (uvicorn with uvloop and
httptools, one process: the rule state lives in it) over a configuration of `indicators`
indicators; Debian's `wrk` with `api_ingest.lua` as the load generator (each request's
observations are new keys, values below every threshold, as in quiet monitoring). Phases:

- `/healthz` (GET, 64 connections), the ceiling of the HTTP stack on this machine, in the same
  run;
- single-observation requests (64 connections: sensors are many);
- batches of 100 (16 connections);
- batches of 10,000 (4 connections);
- with `--sweep`, each batch phase also at the other connection counts of `SWEEP`, its
  throughput curve printed (`--connections PHASE=N` sets one phase's count);
- `tocsin ingest`'s path on the same data (CSV files of 10,000-observation moments read,
  validated, stored and evaluated in one transaction each; bench/ingest.py's `run_once`), in a
  fresh database of the same kind: into the empty database, then once more, for the ratios.

The server's resident memory is sampled every 0.1 s during each phase and its maximum printed,
and its CPU time (utime + stime from /proc, all threads and the event loop's thread alone) read
before and after each phase: the CPU per observation is the figure that compares runs on a
shared machine, where the rate moves with the other jobs. With `--profile DIR`, py-spy records
the server's stacks in each batch phase (`bench/profile_threads.py` sums them per thread).
At the end the server is stopped (it commits what is queued) and the stored observations are
counted: every acknowledged one must be there (a request sent as wrk stopped may be stored
without being counted as acknowledged, so up to connections x batch more are allowed).
PostgreSQL runs in a throw-away local cluster with fsync off (stated in the output). The last
line printed is a JSON object of the figures.
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import run_once, write_config, write_csvs
from machine import describe
from tocsin.bootstrap import open_stores
from tocsin.testing.postgres import create_database, postgres_cluster
from tocsin.web.server import bind

LUA = Path(__file__).resolve().parent / "api_ingest.lua"
# each phase writes its own span of moments, up to 10,000,000 s (116 days) after the one
# before: the first lies 600 days back, and the span shrinks with more phases, so the last still
# ends in the past (a time ahead of the server's clock is refused; a fixed date crossed into
# the future as the calendar moved on)
BACK_S = 600 * 86_400
T0 = (int(time.time()) - BACK_S) // 86_400 * 86_400
# (name, observations per request, wrk connections)
PHASES = (("healthz", 0, 64), ("single", 1, 64), ("batch100", 100, 16), ("batch10000", 10_000, 4))
# --sweep: each batch phase also at these connections, the throughput curve printed
SWEEP = {"batch100": (16, 32, 64, 128), "batch10000": (4, 8, 16, 32)}
TARGETS = {"single_rps": 2_000, "batch100_ops": 200_000, "batch10000_ops": 400_000}


def cpu_ticks(pid: int) -> dict[int, int]:
    """utime + stime (clock ticks) of each thread of a process, by thread id."""
    out: dict[int, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended meanwhile
        out[int(task.name)] = int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat
    return out


def cpu_used(pid: int, before: dict[int, int], after: dict[int, int]) -> tuple[float, float]:
    """CPU seconds of the whole process and of its main thread (the event loop) between two
    `cpu_ticks` readings (a thread that ended between them is not counted)."""
    hz = os.sysconf("SC_CLK_TCK")
    total = sum(after[t] - before.get(t, 0) for t in after) / hz
    return total, (after.get(pid, 0) - before.get(pid, 0)) / hz


class RssSampler:
    """The largest resident set size of a process, sampled every 0.1 s while running."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self._stop.wait(0.1):
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def spied(profile: Path | None, pid: int, phase: str, seconds: int) -> Iterator[None]:
    """With `profile`, py-spy records the server's stacks (every thread, not only the one
    holding the interpreter lock) during a batch phase, as raw folded stacks in
    `profile/PHASE.raw` (the first and last second left out)."""
    if profile is None or not phase.startswith("batch") or shutil.which("py-spy") is None:
        yield
        return
    out = profile / f"{phase}.raw"
    command = ["py-spy", "record", "-f", "raw", "--threads", "--nonblocking", "-r", "200"]
    command += ["-p", str(pid), "-d", str(max(seconds - 2, 1)), "-o", str(out)]
    proc = subprocess.Popen(  # a second after wrk starts
        ["sh", "-c", 'sleep 1; exec "$@"', "py-spy", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        proc.wait(timeout=60)


DEV = {"TOCSIN_ENV": "dev"}  # throw-away databases: the development key seals secrets


@contextmanager
def server(
    url: str, config: Path, work: Path, *, settings: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`tocsin serve` on a free port in its own process (with more `TOCSIN_*` settings); yields
    its base URL and process."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, **DEV, "TOCSIN_DATABASE_URL": url, **(settings or {})}
    log = (work / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tocsin", "serve", "--config", str(config), "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.close()
            tail = (work / "serve.log").read_text(errors="replace")[-2_000:]
            raise SystemExit(f"tocsin serve stopped at start:\n{tail}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.5)
    try:
        yield base, proc
    finally:
        proc.terminate()  # uvicorn shuts down; the committer commits what is queued
        proc.wait(timeout=120)
        log.close()


def token(url: str) -> str:
    """An administrator's API token, made with the CLI (the configuration has no responsible
    units, and every other role belongs to one)."""
    env = {**os.environ, **DEV, "TOCSIN_DATABASE_URL": url}
    out = subprocess.run(
        [sys.executable, "-m", "tocsin", "users", "add", "bench", "--role", "admin"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1].split()[-1]  # "token <id>: <secret>"


def wrk(base: str, *, batch: int, connections: int, seconds: int, env: dict[str, str]) -> dict:
    """One wrk run; its JSON line (acknowledged requests, latency percentiles)."""
    path = "/healthz" if batch == 0 else "/api/v1/observations"
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    out = subprocess.run(
        [*command, "-s", str(LUA), f"{base}{path}"],
        env={**os.environ, **env, "BATCH": str(batch), "WRK_THREADS": "2"},
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def phases_of(args: argparse.Namespace) -> list[tuple[str, int, int]]:
    """The phases to run: the defaults with `--connections` applied, then (`--sweep`) each
    batch phase at the other connection counts of `SWEEP`, named `batch100@32` and so on."""
    given = dict(item.split("=", 1) for item in args.connections)
    unknown = set(given) - {name for name, _, _ in PHASES}
    if unknown:
        sys.exit(f"--connections: no phase {', '.join(sorted(unknown))}")
    phases = [(name, batch, int(given.get(name, conns))) for name, batch, conns in PHASES]
    if args.sweep:
        chosen = {name: conns for name, _, conns in phases}
        for name, batch, _ in PHASES:
            phases += [(f"{name}@{n}", batch, n) for n in SWEEP.get(name, ()) if n != chosen[name]]
    return phases


def run_phases(
    base: str,
    pid: int,
    *,
    bearer: str,
    indicators: int,
    seconds: int,
    phases: list[tuple[str, int, int]],
    profile: Path | None = None,
) -> dict:
    """Warm up, then each phase with the RSS and the CPU time sampled (and, with `profile`, the
    batch phases' stacks); the figures by phase."""
    env = {"TOCSIN_TOKEN": bearer, "INDICATORS": str(indicators)}
    out: dict[str, dict] = {}
    first = {"observations": [{"indicator": "i000000", "time": T0 - 60, "value": 0.5}]}
    answer = httpx.post(  # the first write compiles the rule kernels: not timed
        f"{base}/api/v1/observations",
        json=first,
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=300,
    )
    answer.raise_for_status()
    warm = wrk(base, batch=100, connections=2, seconds=2, env={**env, "TIME0": str(T0)})
    out["warmup"] = {**warm, "batch": 100}
    span = min(10_000_000, BACK_S // (len(phases) + 1))  # the last phase still in the past
    for i, (name, batch, connections) in enumerate(phases, start=1):
        phase_env = {**env, "TIME0": str(T0 + i * span)}
        ticks = cpu_ticks(pid)
        with RssSampler(pid) as rss, spied(profile, pid, name, seconds):
            figures = wrk(
                base, batch=batch, connections=connections, seconds=seconds, env=phase_env
            )
        after = cpu_ticks(pid)
        cpu_s, loop_s = cpu_used(pid, ticks, after)
        if profile is not None and name.startswith("batch"):  # CPU by thread, for the profile
            hz = os.sysconf("SC_CLK_TCK")
            by_thread = {t: (after[t] - ticks.get(t, 0)) / hz for t in after}
            (profile / f"{name}.cpu.json").write_text(json.dumps(by_thread))
        rate = figures["acked"] / figures["duration_s"]
        done = max(figures["acked"] * max(batch, 1), 1)
        out[name] = {
            **figures,
            "batch": batch,
            "connections": connections,
            "requests_per_s": round(rate),
            "obs_per_s": round(rate * batch),
            "rss_peak_mb": round(rss.peak_kb / 1024),
            "cores": round(cpu_s / figures["duration_s"], 2),
            # the server's CPU per observation (per request for /healthz), all threads and the
            # event loop's thread alone
            "cpu_us_per_obs": round(cpu_s / done * 1e6, 2),
            "loop_cpu_us_per_obs": round(loop_s / done * 1e6, 2),
        }
    return out


def stored(url: str) -> int:
    """Observations in the database."""
    stores = open_stores(url, create=False)
    try:
        with stores.store.transaction() as tx:
            return tx.observations.count()
    finally:
        stores.close()


def reference(url: str, config: Path, work: Path, rows: int, indicators: int) -> dict:
    """`tocsin ingest`'s path on CSV files of the same shape: into a fresh database (`empty`),
    then once more after it (`populated`: on PostgreSQL the week's partition exists)."""
    files = [work / "reference-1.csv", work / "reference-2.csv"]
    write_csvs(files, rows, indicators)
    return run_once(url, config, files)


def run_database(name: str, url: str, reference_url: str, work: Path, args: argparse.Namespace):
    """Every phase on one database, then the stored count and the reference."""
    config = work / "config"
    with server(url, config, work) as (base, proc):
        bearer = token(url)
        phases = run_phases(
            base,
            proc.pid,
            bearer=bearer,
            indicators=args.indicators,
            seconds=args.seconds,
            phases=phases_of(args),
            profile=_profile_dir(args, name),
        )
    acked = 1 + sum(p["acked"] * p["batch"] for p in phases.values())
    slack = sum(p.get("connections", 2) * p["batch"] for p in phases.values())
    count = stored(url)
    ref = reference(reference_url, config, work, args.reference_rows, args.indicators)
    return {
        "phases": phases,
        "acknowledged_obs": acked,
        "stored_obs": count,
        "all_acknowledged_stored": acked <= count <= acked + slack,
        "tocsin_ingest": ref,
    }


def _profile_dir(args: argparse.Namespace, name: str) -> Path | None:
    """Where a database's profiles go (`--profile DIR/NAME`), made if missing."""
    if args.profile is None:
        return None
    out: Path = args.profile / name
    out.mkdir(parents=True, exist_ok=True)
    return out


def summarise(name: str, out: dict) -> dict[str, float]:
    """Print one database's table; return its ratios."""
    ph = out["phases"]
    health = ph["healthz"]["requests_per_s"]
    ref = out["tocsin_ingest"]
    ratios = {
        "single_vs_healthz": round(ph["single"]["requests_per_s"] / health, 2),
        "batch10000_vs_tocsin_ingest_empty": round(
            ph["batch10000"]["obs_per_s"] / ref["empty"]["obs_per_s"], 2
        ),
        "batch10000_vs_tocsin_ingest_populated": round(
            ph["batch10000"]["obs_per_s"] / ref["populated"]["obs_per_s"], 2
        ),
    }
    print(f"\n{name}")
    for key in ("healthz", "single", "batch100", "batch10000"):
        p = ph[key]
        print(
            f"  {key:<11} {p['requests_per_s']:>8,} req/s {p['obs_per_s']:>10,} obs/s  "
            f"p50 {p['p50_ms']:>7.1f} ms  p99 {p['p99_ms']:>7.1f} ms  "
            f"RSS peak {p['rss_peak_mb']} MB  non-2xx {p['other']}  "
            f"CPU {p['cpu_us_per_obs']:.2f} us/obs (loop {p['loop_cpu_us_per_obs']:.2f}, "
            f"{p['cores']:.2f} cores)"
        )
    for key in ("batch100", "batch10000"):
        curve = {n: p for n, p in ph.items() if n == key or n.startswith(f"{key}@")}
        if len(curve) > 1:
            points = sorted((p["connections"], p["obs_per_s"], p["p99_ms"]) for p in curve.values())
            line = ", ".join(f"{c}: {o:,} obs/s (p99 {q:.0f} ms)" for c, o, q in points)
            print(f"  {key} by connections: {line}")
    print(
        f"  tocsin ingest path: {ref['empty']['obs_per_s']:,} obs/s into an empty database, "
        f"{ref['populated']['obs_per_s']:,} obs/s once more"
    )
    print(f"  ratios: {ratios}")
    print(
        f"  acknowledged {out['acknowledged_obs']:,} observations, stored {out['stored_obs']:,}: "
        f"{'all stored' if out['all_acknowledged_stored'] else 'MISSING OR EXTRA'}"
    )
    return ratios


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--indicators", type=int, default=10_000)
    parser.add_argument("--reference-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--connections",
        action="append",
        default=[],
        metavar="PHASE=N",
        help="wrk's connections for a phase (healthz, single, batch100, batch10000)",
    )
    parser.add_argument(
        "--sweep", action="store_true", help="each batch phase also at the connections of SWEEP"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="record the server's stacks with py-spy in each batch phase (DIR/DATABASE/PHASE.raw)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian package 'wrk')")
    machine = describe()
    print(f"machine: {machine}; load average before: {os.getloadavg()}")
    figures: dict[str, object] = {"indicators": args.indicators, "seconds": args.seconds}
    figures["phases"] = phases_of(args)
    with tempfile.TemporaryDirectory(prefix="tocsin-api-bench-") as tmp:
        work = Path(tmp)
        write_config(work / "config", args.indicators)
        if args.db in ("sqlite", "both"):
            out = run_database(
                "sqlite", f"sqlite:///{work / 'api.db'}", f"sqlite:///{work / 'ref.db'}", work, args
            )
            out["ratios"] = summarise("SQLite (WAL)", out)
            figures["sqlite"] = out
        if args.db in ("postgres", "both"):
            with postgres_cluster() as pg:
                api_url, ref_url = create_database(pg, "api"), create_database(pg, "ref")
                out = run_database("postgres", api_url, ref_url, work, args)
            out["ratios"] = summarise("PostgreSQL (fsync off)", out)
            figures["postgres"] = out
    figures["targets"] = TARGETS
    figures["load_average_after"] = os.getloadavg()
    figures["machine"] = machine
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
