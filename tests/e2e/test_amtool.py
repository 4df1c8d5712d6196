"""Debian's real `amtool` (prometheus-alertmanager 0.25) against a running `tocsin serve`, as an
operator points it at Tocsin instead of an Alertmanager: `alert add` posts, `alert query` lists
the open warnings (plain, `-o json`, with a matcher, by receiver), `silence query` lists Tocsin's
silences, `silence expire` ends one, and `silence add` is refused with a message saying why."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Server, issue_token
from tocsin.testing.scenario import write_small_config

pytestmark = pytest.mark.slow
AMTOOL = shutil.which("amtool")


def _amtool(server: Server, http_config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert AMTOOL is not None, "Debian's prometheus-alertmanager is needed (scripts/test.sh)"
    command = [
        AMTOOL,
        f"--alertmanager.url={server.url}",
        f"--http.config.file={http_config}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_amtool_queries_alerts_and_silences_of_a_running_server(tmp_path: Path) -> None:
    config = write_small_config(tmp_path / "config")
    db = f"sqlite:///{tmp_path / 'tocsin.db'}"
    token = issue_token(db, config)
    http_config = tmp_path / "amtool-http.yml"  # how amtool sends a bearer token
    http_config.write_text(f"authorization:\n  type: Bearer\n  credentials: {token}\n")
    server = Server(db, config, tmp_path / "serve.log")
    server.start()
    try:
        added = _amtool(
            server,
            http_config,
            "alert",
            "add",
            "RiverHigh",
            "region=D11",
            "domain=natural.flood",
            "severity=critical",
            "--annotation=summary=river above 5 m",
        )
        assert added.returncode == 0, added.stderr + server.log_text()[-2000:]
        other = _amtool(server, http_config, "alert", "add", "Pumps", "region=D21", "domain=health")
        assert other.returncode == 0, other.stderr

        plain = _amtool(server, http_config, "alert", "query")
        assert plain.returncode == 0, plain.stderr
        lines = plain.stdout.splitlines()
        assert lines[0].split() == ["Alertname", "Starts", "At", "Summary", "State"]
        assert any(line.startswith("RiverHigh") and "river above 5 m" in line for line in lines)
        assert any(line.startswith("Pumps") for line in lines)

        as_json = _amtool(
            server, http_config, "alert", "query", "-o", "json", "alertname=RiverHigh"
        )
        assert as_json.returncode == 0, as_json.stderr
        (alert,) = json.loads(as_json.stdout)
        assert alert["labels"] == {
            "alertname": "RiverHigh",
            "region": "D11",
            "domain": "natural.flood",
            "severity": "critical",
        }
        assert alert["status"] == {"state": "active", "silencedBy": [], "inhibitedBy": []}
        assert alert["receivers"] == [{"name": "D11-FLOOD"}]
        warnings = httpx.get(
            f"{server.url}/api/v1/warnings", headers={"Authorization": f"Bearer {token}"}
        ).json()
        river = next(w for w in warnings if w["subject"] == "RiverHigh")
        assert alert["fingerprint"] == river["fingerprint"]

        by_regex = _amtool(server, http_config, "alert", "query", "alertname=~Pump.*")
        assert [ln.split()[0] for ln in by_regex.stdout.splitlines()[1:]] == ["Pumps"]
        by_receiver = _amtool(server, http_config, "alert", "query", "--receiver=D11-.*")
        assert [ln.split()[0] for ln in by_receiver.stdout.splitlines()[1:]] == ["RiverHigh"]

        # a silence made in Tocsin (reason, owner): amtool lists it and the alert it silences
        ends = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "region": "D11",
            "domain": "natural.flood",
            "matchers": ["alertname=RiverHigh"],
            "ends_at": ends,
            "reason": "gauge maintenance",
        }
        made = server.post("/api/v1/silences", body, token)
        assert made.status_code == 201, made.text
        silences = _amtool(server, http_config, "silence", "query", "-o", "json")
        assert silences.returncode == 0, silences.stderr
        (listed,) = json.loads(silences.stdout)
        assert (listed["id"], listed["comment"]) == (made.json()["id"], "gauge maintenance")
        assert listed["status"] == {"state": "active"}
        active = _amtool(server, http_config, "alert", "query")  # active ones only
        assert "RiverHigh" not in active.stdout
        silenced = _amtool(server, http_config, "alert", "query", "--silenced", "-o", "json")
        (held,) = json.loads(silenced.stdout)
        assert held["status"]["silencedBy"] == [made.json()["id"]]

        expired = _amtool(server, http_config, "silence", "expire", made.json()["id"])
        assert expired.returncode == 0, expired.stderr
        assert "RiverHigh" in _amtool(server, http_config, "alert", "query").stdout

        refused = _amtool(server, http_config, "silence", "add", "alertname=Pumps", "-c", "why")
        assert refused.returncode != 0
        assert "postSilencesBadRequest" in refused.stderr
        assert "POST /api/v1/silences" in refused.stderr
    finally:
        server.stop()
