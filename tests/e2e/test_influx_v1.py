"""InfluxDB 1.x's write (`POST /write`) and ping, by the real `influx` shell (Debian's
influxdb-client 1.6.7) against a running `tocsin serve`: it pings, then writes line protocol
with Basic credentials (the token as the password) and an empty Content-Type."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from tests.e2e.harness import Server, issue_token
from tocsin.testing.scenario import write_small_config

pytestmark = pytest.mark.slow
INFLUX = shutil.which("influx")
T = 1_767_225_600
SOURCES = {
    "influx": [
        {
            "indicator": "D11.river_level",
            "match": {"_measurement": "gauge", "_field": "level", "station": "D11"},
        }
    ]
}


def _influx(server: Server, password: str, *args: str) -> subprocess.CompletedProcess[str]:
    assert INFLUX is not None, "Debian's influxdb-client is needed (scripts/test.sh installs it)"
    command = [
        INFLUX,
        "-host",
        "127.0.0.1",
        "-port",
        str(server.port),
        "-username",
        "telegraf",
        "-password",
        password,
        "-database",
        "telegraf",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_the_influx_shell_writes_to_a_running_server(tmp_path: Path) -> None:
    config = write_small_config(tmp_path / "config")
    (config / "sources.yaml").write_text(yaml.safe_dump(SOURCES), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'tocsin.db'}"
    token = issue_token(db, config)
    server = Server(db, config, tmp_path / "serve.log")
    server.start()
    try:
        for i, (precision, stamp) in enumerate([("s", T), ("ms", (T + 60) * 1000)]):
            line = f'INSERT gauge,station=D11 level={2.5 + i},note="ok" {stamp}'
            wrote = _influx(server, token, "-precision", precision, "-execute", line)
            assert wrote.returncode == 0, wrote.stdout + wrote.stderr
            assert "ERR" not in wrote.stdout + wrote.stderr, wrote.stdout + wrote.stderr
        headers = {"Authorization": f"Bearer {token}"}
        url = f"{server.url}/api/v1/indicators/D11.river_level/observations"
        got = httpx.get(url, headers=headers, timeout=10).json()
        assert (got["times"], got["values"]) == ([T, T + 60], [2.5, 3.5])
        influx = {
            s["kind"]: s for s in httpx.get(f"{server.url}/api/v1/sources", headers=headers).json()
        }["influx"]
        assert (influx["stored"], influx["unmapped"]) == (2, 2)  # `note`: not mapped
        # a wrong password: the shell shows the server's reason, nothing is stored
        refused = _influx(server, "wrong", "-execute", f"INSERT gauge,station=D11 level=9 {T}")
        assert "the bearer token is not valid" in refused.stdout + refused.stderr
        bad = _influx(
            server, token, "-precision", "s", "-execute", "INSERT gauge,station=D11 level="
        )
        assert "line 1: not line protocol" in bad.stdout + bad.stderr
        got = httpx.get(url, headers=headers, timeout=10).json()
        assert got["values"] == [2.5, 3.5]
    finally:
        server.stop()
