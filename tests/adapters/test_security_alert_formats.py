"""Wazuh, Suricata EVE and CEF as the tools write them: what is read, what is refused, where."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tocsin.adapters.security_alert_formats import cef, parse_alerts
from tocsin.core.errors import InvalidInput
from tocsin.core.security_alerts import AlertFormat

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def wazuh(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "timestamp": "2026-03-01T10:00:05.123+0000",
        "rule": {"level": 10, "description": "d", "id": "5712"},
        "agent": {"name": "hmi-01", "ip": "10.1.1.5"},
        "id": "1.2",
    }
    return base | over


def test_cef_header_quoting_extensions_and_times() -> None:
    line = (
        "<134>Mar  1 10:00:30 fw-01 CEF:0|Vendor\\|X|Product|1.0|100|Name with = sign|High|"
        "src=10.0.0.1 dst=10.1.1.5 msg=two words \\= here rt=1772359230000"
    )
    alert = cef(line, received_at=NOW)
    assert alert.rule == "Vendor|X/Product:100"
    assert alert.title == "Name with = sign"
    assert alert.hosts == ("10.1.1.5", "10.0.0.1")  # destination before source
    assert alert.occurred_at == datetime(2026, 3, 1, 10, 0, 30, tzinfo=UTC)
    assert alert.severity.value == "orange"
    assert cef("CEF:0|V|P|1|1|n|3|", received_at=NOW).occurred_at == NOW  # no rt: received


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        ("CEF:0|V|P|1", "header", "CEF:Version"),
        ("CEF:0|V|P|1|1|n|11|", "severity", "0-10"),
        ("CEF:0|V|P|1|1|n|Urgent|", "severity", "0-10"),
        ("CEF:0|V|P|1|1|n|5|rt=yesterday", "rt", "epoch milliseconds"),
    ],
)
def test_bad_cef_lines_are_named(line: str, field: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_alerts(AlertFormat.CEF, f"\n{line}\n", received_at=NOW)
    (problem,) = err.value.problems
    assert (problem.where, problem.field) == ("line 2", field)
    assert reason in problem.reason


def test_wazuh_lines_or_an_array_and_every_bad_line_named() -> None:
    lines = "\n".join(json.dumps(a) for a in (wazuh(), wazuh(id="1.3")))
    assert len(parse_alerts(AlertFormat.WAZUH, lines, received_at=NOW)) == 2
    array = json.dumps([wazuh(), wazuh(id="1.3")])
    got = parse_alerts(AlertFormat.WAZUH, array, received_at=NOW)
    assert [a.external_id for a in got] == ["1.2", "1.3"]
    assert got[0].occurred_at == datetime(2026, 3, 1, 10, 0, 5, 123000, tzinfo=UTC)
    bad = [
        wazuh(rule={"level": True, "id": "1", "description": "d"}),
        wazuh(timestamp="2026-03-01 10:00"),
        wazuh(id=None),
        ["not", "an", "object"],
    ]
    with pytest.raises(InvalidInput) as err:
        parse_alerts(AlertFormat.WAZUH, "\n".join(json.dumps(b) for b in bad), received_at=NOW)
    assert [(p.where, p.field) for p in err.value.problems] == [
        ("line 1", "rule.level"),
        ("line 2", "timestamp"),
        ("line 3", "id"),
        ("line 4", "rule.level"),
    ]
    with pytest.raises(InvalidInput, match="not JSON"):
        parse_alerts(AlertFormat.WAZUH, '{"id": 1\n', received_at=NOW)


def test_suricata_reads_alerts_only_and_ids_come_from_content() -> None:
    alert = {
        "timestamp": "2026-03-01T10:00:07.654321+0000",
        "flow_id": 1,
        "event_type": "alert",
        "src_ip": "203.0.113.7",
        "dest_ip": "10.1.1.5",
        "alert": {"signature_id": 2100001, "signature": "s", "severity": 3},
    }
    flow = {"timestamp": "2026-03-01T10:00:08+00:00", "event_type": "flow"}
    text = "\n".join(json.dumps(x) for x in (alert, flow, alert))
    got = parse_alerts(AlertFormat.SURICATA, text, received_at=NOW)
    assert len(got) == 2
    assert got[0].external_id == got[1].external_id  # the same alert twice: one id
    assert got[0].severity.value == "blue"
    with pytest.raises(InvalidInput) as err:
        parse_alerts(
            AlertFormat.SURICATA,
            json.dumps(alert | {"alert": {"signature_id": 1, "signature": "s", "severity": 9}}),
            received_at=NOW,
        )
    assert err.value.problems[0].field == "alert.severity"
