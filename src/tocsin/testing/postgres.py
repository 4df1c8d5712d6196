"""A throw-away PostgreSQL cluster from Debian's packages, for tests and benchmarks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def pg_bindir() -> Path | None:
    """The newest installed PostgreSQL's bin directory."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    """Run as the postgres user when we are root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class PgCluster:
    """A throw-away cluster in a temporary folder, on a free loopback port; it can be stopped
    and started again (tests of an unreachable database)."""

    def __init__(self, *, durable: bool = False, settings: dict[str, str] | None = None) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (Debian package 'postgresql')")
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="tocsin-pg-"))
        self.data = self.base / "data"
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        self.port = free_port()
        self.options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1"
        self.options += " -c max_wal_size=4GB"
        if not durable:
            self.options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        for name, value in (settings or {}).items():
            self.options += f" -c {name}={value}"
        initdb = [str(bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"]
        subprocess.run(
            _as_postgres([*initdb, "--no-sync", "-E", "UTF8"]), check=True, capture_output=True
        )

    @property
    def url(self) -> str:
        """The server's base URL (append /DATABASE)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        log = str(self.base / "log")
        pg_ctl = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", log, "-w"]
        subprocess.run(
            _as_postgres([*pg_ctl, "-o", self.options, "start"]), check=True, capture_output=True
        )

    def running(self) -> bool:
        """True while the server runs (`pg_ctl status`)."""
        pg_ctl = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "status"]
        return (
            subprocess.run(_as_postgres(pg_ctl), check=False, capture_output=True).returncode == 0
        )

    def kill(self) -> None:
        """Stop it as if it crashed (the chaos tests' kill)."""
        self.stop(mode="immediate")

    def stop(self, *, mode: str = "immediate") -> None:
        """Stop the server (immediate: as if it crashed; its clients lose their connections)."""
        pg_ctl = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "stop"]
        subprocess.run(_as_postgres(pg_ctl), check=False, capture_output=True)

    def remove(self) -> None:
        """Stop the server and delete its folder."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@contextmanager
def pg_cluster(
    *, durable: bool = False, settings: dict[str, str] | None = None
) -> Iterator[PgCluster]:
    """A started cluster; stopped and deleted after."""
    cluster = PgCluster(durable=durable, settings=settings)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@contextmanager
def postgres_cluster(
    *, durable: bool = False, settings: dict[str, str] | None = None
) -> Iterator[str]:
    """Start a cluster on a free loopback port; yield its base URL; stop and delete it after.

    With durable=False fsync and synchronous commit are off (fine for tests, stated in
    benchmarks that use it). `settings` are further server settings (name: value).
    """
    with pg_cluster(durable=durable, settings=settings) as cluster:
        yield cluster.url


def create_database(server: str, name: str) -> str:
    """Create an empty database on a server URL; return its URL."""
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"
