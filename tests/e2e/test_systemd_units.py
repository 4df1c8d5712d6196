"""The systemd units of `deploy/systemd/`, tried: checked by `systemd-analyze verify`, then the
deployment they describe started from their own `ExecStart` lines and environment file (this
machine runs no systemd as process 1, so the test plays the service manager: it expands `%i`
and `${VAR}` as systemd does and starts each command as a process).

Two API processes, two workers and the dispatcher pair, on PostgreSQL and a real nats-server:
an observation posted to either API process is notified at the webhook; a third worker
instance started takes its share of the partitions from the others, and when one is stopped
the others take its partitions (an observation of each partition is still notified); after
the `notify run` holding the dispatch lease is killed, the standby notifies the next one;
every process stops cleanly on SIGTERM (the unit's `KillSignal`)."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from tests.e2e.faults import Plan, notified, write_config
from tests.e2e.faults import codes as gauge_codes
from tests.e2e.harness import CLI, Received, running_sink
from tocsin.adapters.storage.engine import make_engine
from tocsin.adapters.storage.lease_tables import leases
from tocsin.testing import processes
from tocsin.testing.leases import holder_pid
from tocsin.testing.nats import NatsServer
from tocsin.testing.postgres import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
BINARY = "/opt/tocsin/bin/tocsin"
CONFIG = "/etc/tocsin/config"
T0 = 1_767_225_600
PARTITIONS = 16  # TOCSIN_STREAM_PARTITIONS of tocsin.env.example
ARRIVE_S = 30.0  # the standby takes over once the 6 s lease runs out


def unit(name: str) -> configparser.ConfigParser:
    """A unit file's sections (systemd's syntax is close enough to INI for these files)."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name)
    return parser


def environment_file() -> dict[str, str]:
    """tocsin.env.example as systemd reads an EnvironmentFile."""
    env: dict[str, str] = {}
    for line in (UNITS / "tocsin.env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def command(name: str, instance: str, env: dict[str, str], config: Path) -> list[str]:
    """The unit's ExecStart for one instance: `%i` and `${VAR}` expanded as systemd does, the
    installed program and configuration folder replaced by this checkout's."""
    line = unit(name)["Service"]["ExecStart"].replace("%i", instance)
    line = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], line)
    words = line.split()
    assert words[0] == BINARY, f"{name}: ExecStart runs {words[0]}"
    return [*CLI, *(str(config) if w == CONFIG else w for w in words[1:])]


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing (scripts/test.sh installs Debian's systemd)"
    root = tmp_path / "root"
    shutil.copytree("/lib/systemd/system", root / "lib/systemd/system", symlinks=True)
    shutil.copytree(UNITS, root / "etc/systemd/system", ignore=shutil.ignore_patterns("*.env*"))
    (root / "opt/tocsin/bin").mkdir(parents=True)
    (root / BINARY.lstrip("/")).write_text("#!/bin/sh\n")
    (root / BINARY.lstrip("/")).chmod(0o755)
    names = ["tocsin-api@8081.service", "tocsin-worker@0.service", "tocsin-notify@1.service"]
    out = subprocess.run(
        [analyze, "verify", f"--root={root}", "--man=no", *names, "tocsin.target"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for name in ("tocsin-api@.service", "tocsin-worker@.service", "tocsin-notify@.service"):
        service = unit(name)["Service"]
        assert service["EnvironmentFile"] == "/etc/tocsin/tocsin.env"
        assert service["Restart"] == "always"
        assert service["KillSignal"] == "SIGTERM"


class Deployment:
    """The units' processes, started and stopped as the service manager would."""

    def __init__(self, env: dict[str, str], config: Path, logs: Path) -> None:
        self.env, self.config, self.logs = env, config, logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, instance: str, ready: str | None = None) -> None:
        """Start `name` (a template) as instance `instance`; wait for `ready` in its log."""
        label = name.replace("@.service", f"@{instance}")
        log = self.logs / f"{label}.log"
        with log.open("ab") as out:
            self.procs[label] = subprocess.Popen(
                command(name, instance, self.env, self.config),
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if ready is not None:
            wait(lambda: ready in log.read_text(errors="replace"), f"{label} did not start")

    def log(self, label: str) -> str:
        """What a process wrote so far."""
        return (self.logs / f"{label}.log").read_text(errors="replace")

    def stop(self, label: str) -> None:
        """SIGTERM one process (`systemctl stop`) and wait for it."""
        self.procs[label].terminate()
        self.procs[label].wait(timeout=60)

    def stop_all(self) -> dict[str, int | None]:
        """SIGTERM every process (the units' KillSignal); their exit codes."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        codes: dict[str, int | None] = {}
        for label, proc in self.procs.items():
            try:
                codes[label] = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                processes.kill(proc)
                codes[label] = None
        return codes


def wait(predicate: Callable[[], bool], message: str, timeout: float = 90.0) -> None:
    """Poll `predicate()` until true or fail with `message`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(message)


def shared_by(db: str, workers: int) -> bool:
    """True when every partition is owned, by exactly `workers` workers, evenly."""
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(leases.c.name, leases.c.holder, leases.c.expires_us))
            now_us = time.time() * 1e6
            owners = {n: h for n, h, e in rows if n.startswith("stream-partition:") and e > now_us}
    finally:
        engine.dispose()
    counts = Counter(owners.values())
    return (
        len(owners) == PARTITIONS
        and len(counts) == workers
        and max(counts.values()) - min(counts.values()) <= 1
    )


def serving(port: str) -> bool:
    """True once an API process answers its health check."""
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def cli_token(env: dict[str, str]) -> str:
    """A duty officer's token, made with the CLI under the deployment's environment (its key)."""
    out = subprocess.run(
        [*CLI, "users", "add", "feeder", "--role", "duty_officer", "--unit", "NAT"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1].split()[-1]  # "token <id>: <secret>"


def test_the_deployment_the_units_describe_runs_and_fails_over(
    pg_url: str, nats: NatsServer, tmp_path: Path
) -> None:
    with running_sink() as sink:
        plan = Plan(0, "postgres", servers=1, indicators=24)  # gauges in most partitions
        config = write_config(tmp_path / "config", plan, sink.url)
        env = environment_file() | {
            "TOCSIN_DATABASE_URL": pg_url,
            "TOCSIN_STREAM_URL": nats.url,
            "TOCSIN_SECRET_KEY": Fernet.generate_key().decode(),
            "TOCSIN_ENV": "production",
        }
        deployment = Deployment(env, config, tmp_path)
        ports = [str(free_port()), str(free_port())]
        try:
            for port in ports:
                deployment.start("tocsin-api@.service", port)
            for port in ports:
                wait(partial(serving, port), f"API process on {port} did not start")
            for index in ("0", "1"):
                deployment.start("tocsin-worker@.service", index, "worker of partitions")
            for instance in ("1", "2"):
                deployment.start("tocsin-notify@.service", instance, "notify run started")
            token = cli_token(env)

            def post(port: str, code: str, at: int) -> None:
                body = {"observations": [{"indicator": code, "time": at, "value": 5.5}]}
                answer = httpx.post(
                    f"http://127.0.0.1:{port}/api/v1/observations",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )
                assert answer.status_code == 202, answer.text

            def arrived(code: str, at: int) -> bool:
                want = (code, "red", at)
                return sink.wait_for(lambda rs: want in notified(rs), ARRIVE_S)

            post(ports[0], "G00.level", T0)
            assert arrived("G00.level", T0), "no notification through the first API process"
            post(ports[1], "G01.level", T0)
            assert arrived("G01.level", T0), "no notification through the second API process"

            # a third worker joins: it takes its share from the others; then one leaves
            deployment.start("tocsin-worker@.service", "2", "worker of partitions")
            wait(lambda: "took partitions" in deployment.log("tocsin-worker@2"), "no share taken")
            deployment.stop("tocsin-worker@0")
            wait(lambda: shared_by(pg_url, 2), "the partitions of the worker stopped not taken")
            fresh = gauge_codes(plan)[3:]  # in most partitions, the stopped worker's among them
            for i, code in enumerate(fresh):
                post(ports[i % 2], code, T0 + 60)
            for code in fresh:
                assert arrived(code, T0 + 60), f"{code}: nothing after the workers moved"

            holder = holder_pid(pg_url)
            active = [p for p in deployment.procs.values() if p.pid == holder]
            assert active, f"the dispatch lease is held by {holder}, not a notify run instance"
            processes.kill(active[0])
            killed = time.monotonic()
            post(ports[0], "G02.level", T0)
            assert arrived("G02.level", T0), "the standby did not take over"
            assert time.monotonic() - killed < ARRIVE_S
            assert holder_pid(pg_url) not in (None, holder)
        finally:
            codes = deployment.stop_all()
        # a clean stop as systemd counts it: exit 0, or death by the SIGTERM it sent (uvicorn
        # shuts down gracefully, then raises the signal it caught again)
        survivors = {label: code for label, code in codes.items() if code != -9}
        assert all(code in (0, -15) for code in survivors.values()), codes
        logs = {label: (tmp_path / f"{label}.log").read_text(errors="replace") for label in codes}
        assert not [label for label, text in logs.items() if "Traceback" in text], logs
        keys: dict[tuple[str, str, int], set[str]] = {}
        received: list[Received] = sink.snapshot()
        for r in received:
            for item in notified([r]):
                keys.setdefault(item, set()).add(r.key)
        assert all(len(k) == 1 for k in keys.values()), keys
