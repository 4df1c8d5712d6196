"""MQTT with a real broker (Debian's mosquitto): QoS 1 subscriptions, payload mapping, refused
payloads counted, and the subscription back after the broker restarts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.e2e.collector_harness import eventually, free_port, served_with_sources

pytestmark = pytest.mark.slow
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
T = 1_767_225_600


@contextmanager
def mosquitto(tmp_path: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Debian's mosquitto on `port`, persisting sessions to tmp_path."""
    assert Path(MOSQUITTO).exists(), "Debian's mosquitto is needed (scripts/test.sh installs it)"
    store = tmp_path / "broker"
    store.mkdir(exist_ok=True)
    user = "user root\n" if os.geteuid() == 0 else ""  # pytest's folders are private to us
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
        f"persistence_location {store}/\nautosave_interval 1\n{user}",
        encoding="utf-8",
    )
    with (tmp_path / "mosquitto.log").open("ab") as log:
        process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=log, stderr=log)
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=30)


def publish(port: int, topic: str, payload: bytes) -> None:
    """Publish one retained QoS 1 message and wait for the broker's PUBACK."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{topic}")

    def connected() -> bool:
        try:
            return client.connect("127.0.0.1", port) == 0
        except OSError:  # the broker is still starting
            return False

    assert eventually(connected, timeout=30)
    client.loop_start()
    info = client.publish(topic, payload, qos=1, retain=True)
    info.wait_for_publish(timeout=30)
    client.disconnect()
    client.loop_stop()


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
