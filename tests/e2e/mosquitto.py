"""A real MQTT broker for tests (Debian's mosquitto) and a publisher that waits for the
broker's PUBACK: shared by the MQTT end-to-end test and the bad-input corpus's MQTT cases."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.e2e.collector_harness import eventually

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


@contextmanager
def mosquitto(
    tmp_path: Path, port: int, *, settings: str = ""
) -> Iterator[subprocess.Popen[bytes]]:
    """Debian's mosquitto on `port`, persisting sessions to tmp_path (`settings`: more lines
    of its configuration)."""
    assert Path(MOSQUITTO).exists(), "Debian's mosquitto is needed (scripts/test.sh installs it)"
    store = tmp_path / "broker"
    store.mkdir(exist_ok=True)
    user = "user root\n" if os.geteuid() == 0 else ""  # pytest's folders are private to us
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
        f"persistence_location {store}/\nautosave_interval 1\n{user}{settings}",
        encoding="utf-8",
    )
    with (tmp_path / "mosquitto.log").open("ab") as log:
        process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=log, stderr=log)
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=30)


def connected_publisher(port: int, client_id: str = "test-publisher") -> mqtt.Client:
    """A client connected to the broker on `port`, its network loop started."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)

    def connected() -> bool:
        try:
            return client.connect("127.0.0.1", port) == 0
        except OSError:  # the broker is still starting
            return False

    assert eventually(connected, timeout=30)
    client.loop_start()
    return client


def publish(port: int, topic: str, payload: bytes, *, retain: bool = True) -> None:
    """Publish one QoS 1 message (retained unless told) and wait for the broker's PUBACK."""
    client = connected_publisher(port, f"test-{topic}")
    info = client.publish(topic, payload, qos=1, retain=retain)
    info.wait_for_publish(timeout=30)
    client.disconnect()
    client.loop_stop()
