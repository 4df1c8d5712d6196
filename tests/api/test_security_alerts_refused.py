"""Issue 19: a security-alert delivery with one bad alert is refused whole, on every path.

A time later than the server's clock plus `TOCSIN_MAX_CLOCK_SKEW_S`, an id the event store
cannot keep or a NUL in a text refuses the delivery (Wazuh JSON, Suricata EVE, CEF; over HTTP and
from a file with `tocsin exposure alerts`), naming the line and the field; no event, count,
observation or audit record of it is stored, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.api.conftest import Api, assert_problem, build_container, serve_api, table_counts
from tocsin.cli.main import app
from tocsin.testing.scenario import exposure_config

FIXTURES = Path(__file__).parent.parent / "fixtures" / "exposure"
NOW = datetime(2026, 3, 1, 10, 5, tzinfo=UTC)  # the fixtures' alerts are of 10:00
AHEAD = "2026-03-02T10:00:00Z is later than the server's clock allows"
SKEW = f"{AHEAD} (now 2026-03-01T10:05:00Z plus 300 s, TOCSIN_MAX_CLOCK_SKEW_S)"
RULE = {"level": 5, "description": "Web server 400 error code", "id": "31101"}
AGENT = {"name": "hmi-01", "ip": "10.1.1.5"}
FUTURE_MS = int(datetime(2026, 3, 2, 10, 0, tzinfo=UTC).timestamp() * 1000)


def _wazuh(**changes: object) -> str:
    alert = {"timestamp": "2026-03-01T10:01:00.000+0000", "rule": RULE, "agent": AGENT}
    return json.dumps({**alert, "id": "1772359260.2", **changes})


def _suricata(at: str) -> str:
    alert = {"signature_id": 7, "signature": "TEST scan", "severity": 2}
    eve = {"timestamp": at, "event_type": "alert", "src_ip": "203.0.113.7", "dest_ip": "10.1.1.5"}
    return json.dumps({**eve, "alert": alert})


# (format, fixture, the bad alert, the field named, the reason)
CASES = [
    ("wazuh", "wazuh.jsonl", _wazuh(timestamp="2026-03-02T10:00:00.000+0000"), "timestamp", SKEW),
    ("suricata", "eve.jsonl", _suricata("2026-03-02T10:00:00.000000+0000"), "timestamp", SKEW),
    ("cef", "cef.log", f"CEF:0|V|IDS|1|9|Scan|5|rt={FUTURE_MS} dst=10.1.1.5", "rt", SKEW),
    ("wazuh", "wazuh.jsonl", _wazuh(id="x" * 300), "id", "300 characters; at most 256"),
    ("wazuh", "wazuh.jsonl", _wazuh(rule={**RULE, "description": "a\x00b"}), "title", "NUL"),
    ("cef", "cef.log", "CEF:0|V|IDS|1|9|Scan|5|rt=99999999999999999 dst=10.1.1.5", "rt", "9999"),
]
IDS = ["wazuh-future", "suricata-future", "cef-future", "long-id", "nul-title", "cef-overflow"]


def _delivery(fixture: str, bad: str) -> tuple[str, str]:
    """The fixture's alerts with the bad one in the middle, and where it stands."""
    lines = (FIXTURES / fixture).read_text(encoding="utf-8").splitlines()
    lines.insert(1, bad)
    return "\n".join(lines) + "\n", "line 2"


@pytest.fixture
def api(db_url: str, tmp_path: Path) -> Iterator[Api]:
    with serve_api(db_url, tmp_path, docs=exposure_config(), now=NOW) as served:
        yield served


@pytest.mark.parametrize(("fmt", "fixture", "bad", "field", "reason"), CASES, ids=IDS)
def test_one_bad_alert_refuses_the_delivery_over_http(
    api: Api, fmt: str, fixture: str, bad: str, field: str, reason: str
) -> None:
    body, where = _delivery(fixture, bad)
    before = table_counts(api.container)
    assert _counts(api) == 0
    response = api.client.post(
        f"/api/v1/security-alerts?format={fmt}",
        content=body.encode(),
        headers={**api.headers, "Content-Type": "text/plain"},
    )
    problem = assert_problem(response, 422, [(where, field, reason)])
    if reason == SKEW:
        assert problem["problems"][0]["reason"] == SKEW  # the exact message
    assert table_counts(api.container) == before
    assert _counts(api) == 0
    # the delivery without the bad alert is taken: events, their audit record and a count
    good = (FIXTURES / fixture).read_bytes()
    taken = api.client.post(
        f"/api/v1/security-alerts?format={fmt}",
        content=good,
        headers={**api.headers, "Content-Type": "text/plain"},
    )
    assert taken.status_code == 202, taken.text
    after = table_counts(api.container)
    assert after["events"] == before["events"] + taken.json()["stored"] > before["events"]
    assert _counts(api) == 1  # its count of the minute, once


def _counts(api: Api) -> int:
    """How many alert counts the substation's indicator holds."""
    with api.container.store.transaction() as tx:
        return len(tx.observations.read(api.container.rules.ids["SUB.security_alerts"]).times)


def test_the_clock_moves_the_edge(api: Api) -> None:
    """The same alert is taken once the clock is within the skew of its time."""
    body = _wazuh(timestamp="2026-03-01T10:10:00.000+0000")  # 5 min after NOW: at the edge
    headers = {**api.headers, "Content-Type": "text/plain"}
    url = "/api/v1/security-alerts?format=wazuh"
    assert api.client.post(url, content=body, headers=headers).status_code == 202
    later = _wazuh(timestamp="2026-03-01T10:10:01.000+0000", id="next")  # one second past it
    assert_problem(api.client.post(url, content=later, headers=headers), 422)


def test_one_bad_alert_refuses_the_file_from_the_cli(db_url: str, tmp_path: Path) -> None:
    """`tocsin exposure alerts` runs on the wall clock: a time in 2099 is past any skew."""
    container, _ = build_container(db_url, tmp_path, docs=exposure_config())
    config = ["--db", db_url]  # the catalogue is stored: loading it again would be audited
    runner = CliRunner()
    for fmt, fixture, bad in (
        ("wazuh", "wazuh.jsonl", _wazuh(timestamp="2099-01-01T00:00:00.000+0000")),
        ("suricata", "eve.jsonl", _suricata("2099-01-01T00:00:00.000000+0000")),
        ("cef", "cef.log", "CEF:0|V|IDS|1|9|Scan|5|rt=4070908800000 dst=10.1.1.5"),
    ):
        body, where = _delivery(fixture, bad)
        path = tmp_path / f"{fmt}.log"
        path.write_text(body, encoding="utf-8")
        before = table_counts(container)
        refused = runner.invoke(app, ["exposure", "alerts", fmt, str(path), *config])
        assert refused.exit_code == 2, refused.output
        said = " ".join(refused.output.split())
        assert f"{where}: {'rt' if fmt == 'cef' else 'timestamp'}: " in said
        assert "2099-01-01T00:00:00Z is later than the server's clock allows (now " in said
        assert "Traceback" not in refused.output
        assert table_counts(container) == before
        good = runner.invoke(app, ["exposure", "alerts", fmt, str(FIXTURES / fixture), *config])
        assert good.exit_code == 0, good.output
        assert table_counts(container)["events"] > before["events"]
    container.close()
