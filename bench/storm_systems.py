"""The two systems the storm benchmark compares, started alike: Tocsin (`tocsin serve`) and
Debian's Prometheus Alertmanager, each a process of its own on a free loopback port, each with
the same routing: one route where every alert is a group of its own (the API storm), one where
the cells of a district are one group (the threshold storm), both sending to one webhook sink.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.users import Role
from tocsin.services.access import TokenRequest
from tocsin.testing.grid import Grid, write_grid_config
from tocsin.testing.postgres import free_port

ALERTMANAGER = "prometheus-alertmanager"
GROUP_WAIT_S = 0.0  # API storm: every alert its own group, sent at once
INTERVAL_S = 1.0  # group_interval: resolutions and changes at most this often per group
DISTRICT_WAIT_S = 2.0  # threshold storm: a district's cells gathered for 2 s, then one message


def rss_mib(pid: int) -> float:
    """Resident memory of a process, MiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class System:
    """A running system under test: its name, its processes (the first takes the posts), where
    to post alerts."""

    name: str
    processes: list[subprocess.Popen[bytes]]
    port: int
    token: str = ""
    workdir: Path = field(default_factory=Path)
    notify_argv: list[str] = field(default_factory=list)  # `notify run`, when left to the caller
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pids(self) -> list[int]:
        """The process ids."""
        return [p.pid for p in self.processes]

    def rss_mib(self) -> float:
        """Resident memory of all its processes, MiB."""
        return sum(rss_mib(pid) for pid in self.pids)

    def cpu_seconds(self) -> float:
        """CPU time of all its processes so far."""
        return sum(cpu_seconds(pid) for pid in self.pids)

    def wait_idle(self, *, busy_share: float = 0.15, cap_s: float = 120.0) -> float:
        """Wait until the system uses under `busy_share` of a core over a second (the backlog
        of the step before is digested) or `cap_s` passed; return the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < cap_s:
            before = self.cpu_seconds()
            time.sleep(1.0)
            if self.cpu_seconds() - before < busy_share:
                break
        return round(time.monotonic() - started, 1)

    def stop(self) -> None:
        """Stop the processes and remove their files."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 600  # a 10,000-cell catalogue on a loaded machine
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready")


def alertmanager_config(sink_url: str) -> dict[str, Any]:
    """Alertmanager's routing: the same two routes as Tocsin's."""
    return {
        "route": {
            "receiver": "sink",
            "group_by": ["..."],
            "group_wait": f"{GROUP_WAIT_S:.0f}s",
            "group_interval": f"{INTERVAL_S:.0f}s",
            "repeat_interval": "4h",
            "routes": [
                {
                    "receiver": "sink",
                    "matchers": ['alertname="FloodGauge"'],
                    "group_by": ["region_district", "domain"],
                    "group_wait": f"{DISTRICT_WAIT_S:.0f}s",
                    "group_interval": f"{INTERVAL_S:.0f}s",
                }
            ],
        },
        "receivers": [
            {"name": "sink", "webhook_configs": [{"url": sink_url, "send_resolved": True}]}
        ],
    }


def start_alertmanager(sink_url: str) -> System:
    """Debian's prometheus-alertmanager, alone (no cluster), on a free port."""
    if shutil.which(ALERTMANAGER) is None:
        raise SystemExit(
            "bench/storm.py compares Tocsin with Prometheus Alertmanager, which is not installed: "
            "apt-get install -y --no-install-recommends prometheus-alertmanager"
        )
    work = Path(tempfile.mkdtemp(prefix="storm-am-"))
    (work / "alertmanager.yml").write_text(yaml.safe_dump(alertmanager_config(sink_url)))
    port = free_port()
    log = work / "log"
    cmd = [
        ALERTMANAGER,
        f"--config.file={work / 'alertmanager.yml'}",
        f"--storage.path={work / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=out)
    _wait_ready(f"http://127.0.0.1:{port}/-/ready", process, log)
    return System("alertmanager", [process], port, workdir=work)


def tocsin_routes(sink_url: str) -> dict[str, Any]:
    """Tocsin's routing (routes.yaml): the same two routes as Alertmanager's."""
    timing = {"group_interval_s": INTERVAL_S, "repeat_interval_s": 4 * 3600}
    return {
        "route": {
            "receiver": "sink",
            "group_by": ["id"],
            "group_wait_s": GROUP_WAIT_S,
            **timing,
            "routes": [
                {
                    "match": {"matchers": ['source="indicator"']},  # threshold and detector rules
                    "receiver": "sink",
                    "group_by": ["region_district", "domain"],
                    "group_wait_s": DISTRICT_WAIT_S,
                },
                {
                    "match": {"matchers": ['alertname="FloodGauge"']},
                    "receiver": "sink",
                    "group_by": ["region_district", "domain"],
                    "group_wait_s": DISTRICT_WAIT_S,
                },
            ],
        },
        "receivers": [{"name": "sink", "webhooks": [{"url": sink_url, "format": "alertmanager"}]}],
        "inhibit_rules": [],
    }


def start_tocsin(
    sink_url: str,
    grid: Grid,
    database_url: str | None,
    *,
    processes: int = 1,
    start_notify: bool = True,
) -> System:
    """`tocsin serve` over the grid scenario, on SQLite in a temporary directory or on the
    given PostgreSQL database; a user with the ingest permission and its token. With
    `processes=2` the pipeline runs in `tocsin notify run` beside `serve` (each process a core of
    its own), as docs/warnings.md describes; with `start_notify=False` as well, `notify run` is
    left to the caller (`System.notify_argv`, `System.env`)."""
    work = Path(tempfile.mkdtemp(prefix="storm-tocsin-"))
    config = write_grid_config(work / "config", grid, routes=tocsin_routes(sink_url))
    url = database_url or f"sqlite:///{work / 'tocsin.db'}"
    settings = Settings(database_url=url, config_dir=config, background_workers=False, env="dev")
    container = build(settings)  # a throw-away database: the development key seals its secrets
    container.admin.add_user("storm", Role.DUTY_OFFICER, unit="NAT", actor="bench")
    token = container.access.issue("storm", TokenRequest("storm"), actor="bench")[1]
    container.close()
    port = free_port()
    log = work / "log"
    env = {**os.environ, "TOCSIN_DISPATCH_INTERVAL_S": "0.05", "TOCSIN_ENV": "dev"}
    tocsin = [sys.executable, "-m", "tocsin"]
    serve = [*tocsin, "serve", "--db", url, "--config", str(config), "--port", str(port)]
    started = []
    with log.open("wb") as out:
        if processes == 1:
            started.append(subprocess.Popen(serve, stdout=out, stderr=out, env=env))
        else:
            api = {**env, "TOCSIN_BACKGROUND_WORKERS": "false"}
            started.append(subprocess.Popen(serve, stdout=out, stderr=out, env=api))
            notify = [*tocsin, "notify", "run", "--db", url, "--config", str(config)]
            notify += ["--interval", "0.05"]  # timers as serve's (TOCSIN_DISPATCH_INTERVAL_S)
            if start_notify:
                started.append(subprocess.Popen(notify, stdout=out, stderr=out, env=env))
    _wait_ready(f"http://127.0.0.1:{port}/healthz", started[0], log)
    name = "tocsin" if processes == 1 else f"tocsin-{processes}p"
    system = System(name, started, port, token=token, workdir=work, env=env)
    if processes > 1 and not start_notify:
        system.notify_argv = notify
    return system
