"""The syslog receiver with a real syslog client (util-linux `logger`) on SQLite and PostgreSQL:
UDP and TCP, octet-counted and LF-framed, RFC 5424 and RFC 3164 headers, CEF lines and
Wazuh/Suricata JSON; bad messages are counted and logged naming the message, the good ones of
the same batch are stored, and nothing of a bad message is."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from tocsin.adapters.sources.syslog import SyslogReceiver, read_message
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.errors import InvalidInput
from tocsin.core.syslog import ListenAddress, Transport
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import exposure_config, write_small_config

FIXTURES = Path(__file__).parent.parent / "fixtures" / "exposure"
NOW = datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
DEADLINE_S = 30.0
CEF_1 = (
    "CEF:0|Example Security|Firewall|7.2|4001|Blocked connection|7|rt=1772359230000 "
    "src=203.0.113.7 dst=10.1.1.5 dpt=3389 externalId=fw-01-77001"
)
CEF_2 = "CEF:0|Example Security|IDS|1.0|42|Pipe \\| in the name|Very-High|dvchost=hmi-01"


@pytest.fixture
def running(db_url: str, tmp_path: Path) -> Iterator[tuple[Container, SyslogReceiver]]:
    config = write_small_config(tmp_path / "cfg", **exposure_config())
    container = build(Settings(database_url=db_url, config_dir=config), clock=FakeClock(NOW))
    receive = partial(container.security_alerts.receive, principal=system_principal("syslog"))
    addresses = [ListenAddress(Transport.UDP, "127.0.0.1", 0), ListenAddress(t, "127.0.0.1", 0)]
    receiver = SyslogReceiver(addresses, deliver=receive, now=container.clock.now)
    receiver.start()
    yield container, receiver
    receiver.stop()
    container.close()


t = Transport.TCP


def _logger(receiver: SyslogReceiver, transport: Transport, *args: str) -> None:
    address = next(a for a in receiver.addresses if a.transport is transport)
    port = receiver.bound[address][1]
    flag = "--udp" if transport is Transport.UDP else "--tcp"
    cmd = ["logger", "--server", "127.0.0.1", "--port", str(port), flag, *args]
    subprocess.run(cmd, check=True, timeout=30, capture_output=True)


def _settled(receiver: SyslogReceiver, *, messages: int) -> None:
    """Wait until every message sent has been read and its batch handled."""
    deadline = time.monotonic() + DEADLINE_S
    counts = receiver.counts
    while time.monotonic() < deadline:
        if counts.messages >= messages and counts.delivered + counts.refused >= counts.alerts:
            time.sleep(0.05)
            if counts.messages >= messages and counts.delivered >= counts.alerts - counts.refused:
                return
        time.sleep(0.05)
    raise AssertionError(f"not settled: {counts}")


def _stored(container: Container) -> dict[str, str]:
    with container.store.transaction() as tx:
        events = tx.events.newest(limit=100)
    return {e.event.external_id: e.event.source for e in events}


def test_logger_messages_over_udp_and_tcp_are_stored(
    running: tuple[Container, SyslogReceiver], caplog: pytest.LogCaptureFixture
) -> None:
    container, receiver = running
    wazuh = json.dumps(json.loads((FIXTURES / "wazuh.jsonl").read_text().splitlines()[0]))
    eve = json.dumps(json.loads((FIXTURES / "eve.jsonl").read_text().splitlines()[0]))
    caplog.set_level(logging.WARNING, logger="tocsin.adapters.sources.syslog")
    _logger(receiver, Transport.UDP, "--rfc5424", "-t", "fw", CEF_1)
    _logger(receiver, Transport.TCP, "--rfc5424", "--octet-count", "--sd-id", "x@1", CEF_2)
    _logger(receiver, Transport.TCP, "--rfc5424", "--octet-count", wazuh)
    _logger(receiver, Transport.TCP, "--rfc3164", "-t", "suricata", eve)
    _logger(receiver, Transport.UDP, "--rfc3164", "hello, no alert here")
    _logger(receiver, Transport.TCP, "--rfc5424", "CEF:0|V|P|1|1|name|11|dvchost=hmi-01")
    _settled(receiver, messages=6)
    stored = _stored(container)
    assert "fw-01-77001" in stored
    assert "1772359205.10001" in stored  # the Wazuh alert's id
    assert sorted(set(stored.values())) == ["security:cef", "security:suricata", "security:wazuh"]
    assert len(stored) == 4
    assert receiver.counts.bad == 2
    said = caplog.text
    assert "no CEF line (CEF:…) or JSON alert ({…}) in the message" in said
    assert "severity: 0-10 or Low, Medium, High, Very-High" in said
    assert re.search(r"syslog message \d+ from udp 127\.0\.0\.1:\d+: no CEF line", said)
    assert "Traceback" not in said


def test_a_refused_alert_costs_only_itself(running: tuple[Container, SyslogReceiver]) -> None:
    """An alert dated beyond the clock's skew is refused by the service; the alert batched
    with it is still stored (each is delivered alone once the batch is refused)."""
    container, receiver = running
    late = "CEF:0|V|P|1|1|future|5|dvchost=hmi-01 externalId=late-1 rt=1900000000000"
    fine = "CEF:0|V|P|1|1|present|5|dvchost=hmi-01 externalId=fine-1"
    _logger(receiver, Transport.UDP, "--rfc5424", late)
    _logger(receiver, Transport.UDP, "--rfc5424", fine)
    _settled(receiver, messages=2)
    stored = _stored(container)
    assert "fine-1" in stored
    assert "late-1" not in stored
    assert receiver.counts.refused == 1


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"<13>1 - h a - - - CEF:0|V|P|1|1|n|5|dvchost=\xff", "not UTF-8"),
        (b"<13>1 - h a - - - CEF:0|V|P|1|1|n|5|dvchost=a\x00b", "a NUL character"),
        (b"<13>1 - h a - - - CEF:0|V|P|1|1|n|5|x=1\nCEF:0|V|P|1|1|n|5|x=2", "one alert per"),
        (b'<13>1 - h a - - - {"rule": ', "not JSON"),
        (b'<13>1 - h a - - - {"event_type": "alert"}', "alert.severity"),
        (b"hello", "no syslog priority"),
    ],
)
def test_a_bad_message_is_refused_naming_it(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput) as err:
        read_message(raw, where="syslog message 3 from udp 127.0.0.1:9", received_at=NOW)
    assert all(p.where == "syslog message 3 from udp 127.0.0.1:9" for p in err.value.problems)
    assert reason in str(err.value)
