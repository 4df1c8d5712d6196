"""bench/scale.py's second part: observation → notification through the stream roles, and the
dispatcher's failover, in one run.

The deployment of docs/deployment.md on one machine: a throw-away PostgreSQL cluster and a real
`nats-server`; `tocsin serve --role api` (its background loops off), two `tocsin worker`
processes sharing the partitions, and two `tocsin notify run` processes — one holds the
dispatch lease, the other stands by. Routing sends every indicator's warning as a group of its
own (`group_by: [indicator]`, `group_wait_s: 0`) to a webhook sink in a process of its own
(bench/storm_traffic.py's, which records each request's arrival and `Idempotency-Key`).

One open-loop generator (bench/storm_traffic.py's `offer`, in a process of its own) sends, at
fixed moments:

- the **load**: batches of `--batch` observations at `--notify-rate` observations a second in
  all, every indicator in turn, values below every threshold (nothing to notify);
- **probes**, 10 a second: each a post of two observations of a probe indicator of its own, red
  for longer than the indicator's `raise_after_s`, so that each probe raises exactly one red
  warning, notified once.

Half-way (`--kill-at` of the phase), the `notify run` process holding the dispatch lease is
killed with SIGKILL; the standby takes the lease over once it runs out (`TOCSIN_LEASE_S`,
default 6 s, renewed every third of it) and goes on.

Figures: the probes' latency from the moment a probe was due (offered) to its notification's
arrival at the sink, p50/p99, over the probes due before the kill (after a warm-up); the
failover: from the kill to the first notification the standby delivered; how many probes were
notified after the kill and their latency; lost probes (never notified), probes notified under
two keys (a transition notified twice), and keys that arrived more than once (a notification
re-sent under its key, as at-least-once delivery allows after a kill).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_ingest import DEV, T0, server, stored, token
from ingest import write_config
from storm import percentile
from storm_traffic import Sink, offer, post_request
from tocsin.testing.leases import holder_pid
from tocsin.testing.nats import NatsServer
from tocsin.testing.postgres import create_database

PARTITIONS = 16
PROBES_PER_S = 10
PROBE_RED = 6.0  # above the red threshold (5.0) of bench/ingest.py's indicators
RAISE_AFTER_S = 60  # bench/ingest.py's raise_after_s: the probe's second value is this + 1 later
WARM_UP_S = 3.0
START_S = 10.0  # pre-built requests are handed to the sending process meanwhile
IN_FLIGHT_S = 2.0  # probes due this long before the kill may be in flight when it comes
WINDOW_S = 5.0
SETTLE_S = 30.0  # after the last post, how long to wait for the last notifications
TAIL_S = 3.0  # once every probe was notified, how long to look for notifications sent twice


def write_routes(config: Path, sink_url: str) -> None:
    """Every indicator's warning a group of its own, sent at once, to the sink."""
    routes = {
        "route": {
            "receiver": "sink",
            "group_by": ["indicator"],
            "group_wait_s": 0.0,
            "group_interval_s": 1.0,
            "repeat_interval_s": 4 * 3600,
        },
        "receivers": [{"name": "sink", "webhooks": [{"url": sink_url, "format": "alertmanager"}]}],
        "inhibit_rules": [],
    }
    (config / "routes.yaml").write_text(yaml.safe_dump(routes), encoding="utf-8")


@contextmanager
def notifiers(
    n: int, url: str, config: Path, env: dict[str, str], work: Path
) -> Iterator[list[Any]]:
    """N `tocsin notify run` processes on one database (routing from `config`): one
    dispatches, the others stand by."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(n):
            with (work / f"notify-{i}.log").open("wb") as out:
                cmd = [sys.executable, "-m", "tocsin", "notify", "run", "--db", url, "--config"]
                cmd.append(str(config))
                procs.append(subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT))
        yield procs
    finally:
        stop_all(procs)


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each process still running, then wait (SIGKILL after 60 s)."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def workers(
    n: int, url: str, config: Path, env: dict[str, str], work: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """N `tocsin worker` processes sharing the partitions; each is up once it says so."""
    procs: list[subprocess.Popen[bytes]] = []
    logs = [work / f"worker-{n}-{i}.log" for i in range(n)]
    try:
        for i, log in enumerate(logs):
            with log.open("wb") as out:
                cmd = [sys.executable, "-m", "tocsin", "worker", "--db", url, "--config"]
                cmd += [str(config), "--index", str(i), "--workers", str(n)]
                procs.append(subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 120
        while not all("worker of partitions" in log.read_text(errors="replace") for log in logs):
            for proc, log in zip(procs, logs, strict=True):
                if proc.poll() is not None:
                    tail = log.read_text(errors="replace")[-2_000:]
                    raise SystemExit(f"a worker stopped at start:\n{tail}")
            if time.monotonic() > deadline:
                raise SystemExit("the workers did not start within 120 s")
            time.sleep(0.2)
        yield procs
    finally:
        stop_all(procs)


def build_posts(
    port: int, bearer: str, *, rate: int, batch: int, indicators: int, seconds: float
) -> tuple[list[bytes], list[float], dict[int, str]]:
    """The load's and the probes' requests by due moment; which request is which probe."""
    requests: list[tuple[float, bytes, str | None]] = []
    posts_per_s = rate / batch
    n = int(seconds * posts_per_s)
    for k in range(n):
        first = (k * batch) % indicators
        moment = T0 + k
        rows = ",".join(
            f'{{"indicator":"i{(first + j) % indicators:06d}","time":{moment},"value":{j % 3}.25}}'
            for j in range(batch)
        )
        requests.append((k / posts_per_s, _post(port, bearer, rows), None))
    for p in range(int(seconds * PROBES_PER_S)):
        code = f"i{indicators + p:06d}"
        rows = (
            f'{{"indicator":"{code}","time":{T0},"value":{PROBE_RED}}},'
            f'{{"indicator":"{code}","time":{T0 + RAISE_AFTER_S + 1},"value":{PROBE_RED}}}'
        )
        requests.append((p / PROBES_PER_S, _post(port, bearer, rows), code))
    requests.sort(key=lambda r: r[0])
    probes = {i: code for i, (_, _, code) in enumerate(requests) if code is not None}
    return [r[1] for r in requests], [r[0] for r in requests], probes


def _post(port: int, bearer: str, rows: str) -> bytes:
    body = ('{"observations":[' + rows + "]}").encode()
    return post_request("127.0.0.1", port, "/api/v1/observations", body, token=bearer)


def notification_phase(
    pg: str,
    nats: NatsServer,
    work: Path,
    *,
    rate: int,
    batch: int,
    indicators: int,
    seconds: float,
    kill_at: float,
    n_workers: int = 2,
) -> dict[str, Any]:
    """Run the phase; its figures."""
    probes_total = int(seconds * PROBES_PER_S)
    config = work / "config-notify"
    write_config(config, indicators + probes_total + 1)  # the last: the warm-up probe
    sink = Sink()
    try:
        write_routes(config, sink.url)
        return _run(
            pg,
            nats,
            work,
            config,
            sink,
            rate=rate,
            batch=batch,
            indicators=indicators,
            seconds=seconds,
            kill_at=kill_at,
            n_workers=n_workers,
        )
    finally:
        sink.close()


def _run(
    pg: str,
    nats: NatsServer,
    work: Path,
    config: Path,
    sink: Sink,
    *,
    rate: int,
    batch: int,
    indicators: int,
    seconds: float,
    kill_at: float,
    n_workers: int,
) -> dict[str, Any]:
    url = create_database(pg, "scalenotify")
    stream = {
        "TOCSIN_STREAM_URL": nats.url,
        "TOCSIN_STREAM_NAME": "TOCSIN_SCALE_NOTIFY",
        "TOCSIN_STREAM_SUBJECT": "tocsin.scalenotify",
        "TOCSIN_STREAM_PARTITIONS": str(PARTITIONS),
    }
    env = {**os.environ, **DEV, "TOCSIN_DATABASE_URL": url, **stream}
    api = {**stream, "TOCSIN_ROLE": "api", "TOCSIN_BACKGROUND_WORKERS": "false"}
    with server(url, config, work, settings=api) as (base, _proc):
        bearer = token(url)
        port = int(base.rsplit(":", 1)[1])
        requests, due, probes = build_posts(
            port, bearer, rate=rate, batch=batch, indicators=indicators, seconds=seconds
        )
        with (
            workers(n_workers, url, config, env, work),
            notifiers(2, url, config, env, work) as notify,
        ):
            holder = _wait_for_holder(url, notify)
            _warm_up(base, bearer, sink, f"i{indicators + len(probes):06d}")
            killed: dict[str, float] = {}
            start = time.monotonic() + START_S  # the sending process is up by then

            def kill_holder() -> None:
                time.sleep(max(start + kill_at - time.monotonic(), 0.0))
                os.kill(holder, signal.SIGKILL)
                killed["at"] = time.monotonic()

            killer = threading.Thread(target=kill_holder, daemon=True)
            killer.start()
            results = offer("127.0.0.1", port, requests, due, connections=16, start=start)
            killer.join()
            wanted = set(probes.values())
            arrivals = _collect(sink, wanted)
            new_holder = _wait_for_holder(url, notify, other_than=holder)
            before = stored(url)
    return _figures(
        results,
        probes,
        arrivals,
        killed["at"],
        batch,
        before,
        first_moment=results[0].due,
        holders=(holder, new_holder),
    )


def _warm_up(base: str, bearer: str, sink: Sink, code: str) -> None:
    """One probe through the whole path before the clock starts: the workers' rule kernels are
    compiled on their first message, and each process's first notification sets up its
    connections."""
    rows = [{"indicator": code, "time": T0 + s, "value": PROBE_RED} for s in (0, RAISE_AFTER_S + 1)]
    answer = httpx.post(
        f"{base}/api/v1/observations",
        json={"observations": rows},
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=60,
    )
    answer.raise_for_status()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if any(code.encode() in body for _, body, _ in sink.take()):
            return
        time.sleep(0.2)
    raise SystemExit("the warm-up probe was not notified within 300 s")


def _wait_for_holder(url: str, procs: list[Any], other_than: int | None = None) -> int:
    pids = {p.pid for p in procs}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        held = holder_pid(url)
        if held is not None and held in pids and held != other_than:
            return held
        time.sleep(0.2)
    raise SystemExit("no notify run process took the dispatch lease within 120 s")


def _collect(sink: Sink, wanted: set[str]) -> dict[str, list[tuple[float, str]]]:
    """Each probe's firing notifications as (arrival, key), until all came (and `TAIL_S` more,
    for anything sent twice) or none came for `SETTLE_S`."""
    seen: dict[str, list[tuple[float, str]]] = defaultdict(list)
    last_new = time.monotonic()
    complete: float | None = None
    while time.monotonic() - last_new < SETTLE_S:
        taken = sink.take()
        for moment, body, key in taken:
            for alert in json.loads(body).get("alerts", []):
                code = alert.get("labels", {}).get("indicator", "")
                if code in wanted and alert.get("status") == "firing":
                    seen[code].append((moment, key))
        if taken:
            last_new = time.monotonic()
        if complete is None and wanted <= seen.keys():
            complete = time.monotonic()
        if complete is not None and time.monotonic() - complete > TAIL_S:
            break
        time.sleep(0.25)
    return seen


def _figures(
    results: list[Any],
    probes: dict[int, str],
    arrivals: dict[str, list[tuple[float, str]]],
    killed_at: float,
    batch: int,
    stored_count: int,
    *,
    first_moment: float,
    holders: tuple[int, int],
) -> dict[str, Any]:
    load = [r for i, r in enumerate(results) if i not in probes]
    accepted = [r for r in load if 200 <= r.status < 300]
    span = max(r.due for r in load) - first_moment + 1e-9
    steady: list[float] = []
    after: list[float] = []
    lost: list[str] = []
    refused = 0
    for i, code in probes.items():
        r = results[i]
        if not 200 <= r.status < 300:
            refused += 1
            continue
        got = arrivals.get(code)
        if not got:
            lost.append(code)
            continue
        latency = min(m for m, _ in got) - r.due
        if r.due < killed_at - IN_FLIGHT_S:
            if r.due - first_moment >= WARM_UP_S:
                steady.append(latency)
        else:
            after.append(latency)
    windows: dict[int, list[float]] = defaultdict(list)
    for i, code in probes.items():
        got = arrivals.get(code)
        if got:
            offset = results[i].due - first_moment
            windows[int(offset // WINDOW_S)].append(min(m for m, _ in got) - results[i].due)
    by_window = [
        [w * WINDOW_S, round(percentile(v, 0.5), 2), round(max(v), 2)]
        for w, v in sorted(windows.items())
    ]
    delivered_after = sorted(m for got in arrivals.values() for m, _ in got if m > killed_at)
    keys = {code: {k for _, k in got} for code, got in arrivals.items()}
    repeats = sum(len(got) - len(keys[code]) for code, got in arrivals.items())
    return {
        "offered_obs_per_s": round(len(load) * batch / span),
        "accepted_obs_per_s": round(len(accepted) * batch / span),
        "load_refused_posts": len(load) - len(accepted),
        "probes": len(probes),
        "probes_refused": refused,
        "p50_s": round(percentile(steady, 0.5), 3) if steady else None,
        "p99_s": round(percentile(steady, 0.99), 3) if steady else None,
        "probes_in_p99": len(steady),
        "failover_s": round(delivered_after[0] - killed_at, 2) if delivered_after else None,
        "after_kill_p99_s": round(percentile(after, 0.99), 3) if after else None,
        "after_kill_max_s": round(max(after), 3) if after else None,
        "latency_by_window_s": by_window,  # [start, p50, max] of probes due in each window
        "kill_at_s": round(killed_at - first_moment, 2),
        "lost": len(lost),
        "notified_under_two_keys": sum(1 for k in keys.values() if len(k) > 1),
        "keys_resent": repeats,
        "killed_pid": holders[0],
        "standby_pid": holders[1],
        "observations_stored": stored_count,
    }
