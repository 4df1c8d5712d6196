"""MQTT with a real broker (Debian's mosquitto): QoS 1 subscriptions, payload mapping, refused
payloads counted, and the subscription back after the broker restarts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.e2e.collector_harness import eventually, free_port, served_with_sources
from tests.e2e.mosquitto import connected_publisher, mosquitto, publish
from tocsin.cli.main import app

pytestmark = pytest.mark.slow
T = 1_767_225_600


def sources(port: int) -> dict[str, Any]:
    return {
        "mqtt": {
            "broker": {"host": "127.0.0.1", "port": port, "client_id": "tocsin-test"},
            "topics": [
                {
                    "topic": "sensors/D11/level",
                    "indicator": "D11.river_level",
                    "value": "reading.level",
                    "time": "ts",
                },
                {"topic": "raw/+/D12", "indicator": "D12.river_level"},
            ],
        }
    }


def level(value: object, at: int | None = None) -> bytes:
    """A gauge's JSON payload."""
    return json.dumps({"reading": {"level": value}, **({"ts": at} if at else {})}).encode()


def test_mqtt_messages_become_observations_across_a_broker_restart(tmp_path: Path) -> None:
    port = free_port()
    with mosquitto(tmp_path, port), served_with_sources(tmp_path, sources(port)) as tocsin:
        publish(port, "raw/gauge/D12", b"2.75")  # retained: delivered once subscribed
        assert eventually(lambda: tocsin.series("D12.river_level")[1] == [2.75])
        publish(port, "sensors/D11/level", level(1.5, T))
        publish(port, "sensors/D11/level", level("high", T))
        assert eventually(lambda: tocsin.series("D11.river_level") == ([T], [1.5]))
        assert eventually(lambda: tocsin.sources()["mqtt"]["refused"] == 1)
        assert tocsin.sources()["mqtt"]["recent_refusals"] == [
            {
                "source": "sensors/D11/level",
                "problems": [
                    {"where": "payload", "field": "reading.level", "reason": "not a number: 'high'"}
                ],
            }
        ]
        # and `tocsin sources` shows it, not only the API
        shown = CliRunner().invoke(
            app, ["sources", "--server", tocsin.url, "--token", tocsin.token]
        )
        assert shown.exit_code == 0, shown.output
        assert (
            "refused mqtt: sensors/D11/level: payload reading.level: not a number: 'high'\n"
            in shown.output
        )
    # the server is gone: the broker keeps a message for Tocsin's persistent session
    with mosquitto(tmp_path, port):
        publish(port, "sensors/D11/level", level(3.0, T + 60))
    with (
        mosquitto(tmp_path, port) as broker,
        served_with_sources(tmp_path, sources(port)) as tocsin,
    ):
        assert eventually(lambda: tocsin.series("D11.river_level")[0] == [T, T + 60])
        broker.terminate()
        broker.wait(timeout=30)
        with mosquitto(tmp_path, port):  # the broker restarts: the subscriber reconnects
            publish(port, "sensors/D11/level", level(4.0, T + 120))
            assert eventually(lambda: tocsin.series("D11.river_level")[1] == [1.5, 3.0, 4.0])


def test_a_number_past_pythons_digit_limit_is_refused_in_tocsins_words(tmp_path: Path) -> None:
    """Python's own message (advising sys.set_int_max_str_digits) once reached the refusal; a
    payload's number of more than 4,300 digits is refused as the REST API's JSON bodies say."""
    port = free_port()
    digits = "9" * 5_000
    with mosquitto(tmp_path, port), served_with_sources(tmp_path, sources(port)) as tocsin:
        publish(port, "sensors/D11/level", f'{{"reading": {{"level": {digits}}}}}'.encode())
        publish(port, "raw/gauge/D12", digits.encode())  # the payload is the number
        assert eventually(lambda: tocsin.sources()["mqtt"]["refused"] == 2)
        refusals = tocsin.sources()["mqtt"]["recent_refusals"]
    assert sorted((r["source"], r["problems"][0]["reason"]) for r in refusals) == [
        ("raw/gauge/D12", "a number of more than 4,300 digits"),
        ("sensors/D11/level", "not JSON: a number of more than 4,300 digits"),
    ]


BROKER_SETTINGS = "max_queued_messages 0\n"  # as docs/sources.md tells: keep all while away


def test_what_arrives_while_tocsin_is_away_is_kept_for_it_beyond_mosquittos_default(
    tmp_path: Path,
) -> None:
    """Not retained: only the persistent session keeps these. Mosquitto keeps 1,000 messages
    per absent client unless told (docs/sources.md), and dropped the rest: 1,500 are sent."""
    port = free_port()
    with mosquitto(tmp_path, port, settings=BROKER_SETTINGS):
        with served_with_sources(tmp_path, sources(port)) as tocsin:  # the session exists
            assert eventually(lambda: tocsin.sources()["mqtt"]["received"] == 0)
        client = connected_publisher(port)
        sent = [
            client.publish("sensors/D11/level", level(float(i), T + i), qos=1) for i in range(1_500)
        ]
        for info in sent:
            info.wait_for_publish(timeout=30)
        client.disconnect()
        client.loop_stop()
        with served_with_sources(tmp_path, sources(port)) as tocsin:
            assert eventually(lambda: len(tocsin.series("D11.river_level")[0]) == 1_500)
            assert tocsin.series("D11.river_level")[1] == [float(i) for i in range(1_500)]
