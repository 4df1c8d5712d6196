"""MQTT: subscribe to topics on a broker and deliver each message as an observation.

The session is persistent (MQTT 3.1.1, `clean_session` false, a fixed client id) and every
subscription is QoS 1, so the broker keeps what arrives while Tocsin is away. A message is
acknowledged (PUBACK) only after its observation is committed: paho's manual acknowledgement.
When the ingest queue is full, the message callback waits and tries again, so the broker stops
sending once its in-flight window is full (back-pressure instead of loss). A payload that cannot
be an observation (not a number, no such field, a bad time) is counted as refused, logged with
its topic and acknowledged: it would never succeed. Lost connections are retried every 1 to 30
seconds, and the subscriptions are renewed on every connection.

Payloads: with `value` unset, the payload is the number (UTF-8 text); otherwise a JSON object,
the value (and time) found at the dotted paths. Without `time`, the time of receipt.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tocsin.adapters.sources.records import RecordError, record_number, record_time
from tocsin.core.errors import InvalidInput, Overloaded
from tocsin.core.sources import MqttBroker, MqttTopic, SourceCounts

log = logging.getLogger(__name__)

Deliver = Callable[[Sequence[str], npt.NDArray[np.int64], npt.NDArray[np.float64]], Future[Any]]


def observation_of(topic: MqttTopic, payload: bytes, *, received_at: datetime) -> tuple[int, float]:
    """(epoch seconds, value) of a message; RecordError saying why it is none."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RecordError("the payload is not UTF-8 text") from err
    if topic.value is None:
        return int(received_at.timestamp()), record_number(_plain_number(text), "")
    try:
        document = json.loads(text)
    except ValueError as err:
        raise RecordError(f"the payload is not JSON: {err}") from err
    value = record_number(document, topic.value)
    if topic.time is None:
        return int(received_at.timestamp()), value
    return record_time(document, topic.time, unit=topic.time_unit), value


def _plain_number(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as err:
        raise RecordError(f"the payload is not a number: {text[:40]!r}") from err


class MqttSubscriber:
    """A paho client on its own network thread, delivering matched messages."""

    def __init__(
        self,
        broker: MqttBroker,
        topics: Sequence[MqttTopic],
        *,
        deliver: Deliver,
        counts: SourceCounts,
        now: Callable[[], datetime],
    ) -> None:
        self.broker = broker
        self.topics = tuple(topics)
        self.deliver = deliver
        self.counts = counts
        self.now = now
        self.subscribed = threading.Event()
        self.stopping = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=broker.client_id,
            clean_session=False,
            manual_ack=True,
        )
        if broker.username is not None:
            password = os.environ.get(broker.password_env) if broker.password_env else None
            self.client.username_pw_set(broker.username, password)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def start(self) -> None:
        """Connect (retrying in the background until the broker answers) and subscribe."""
        self.client.connect_async(
            self.broker.host, self.broker.port, keepalive=self.broker.keepalive_s
        )
        self.client.loop_start()

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self.stopping.set()
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT broker refused the connection: %s", reason)
            return
        client.subscribe([(t.topic, t.qos) for t in self.topics])

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.subscribed.clear()
        if not self.stopping.is_set():
            log.warning("MQTT connection lost (%s); reconnecting", reason)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, _codes: Any, _p: Any) -> None:
        self.subscribed.set()

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        topic = next(
            (t for t in self.topics if mqtt.topic_matches_sub(t.topic, message.topic)), None
        )
        self.counts.received += 1
        if topic is None:
            self.counts.unmapped_series(message.topic)
            client.ack(message.mid, message.qos)
            return
        try:
            at, value = observation_of(topic, bytes(message.payload), received_at=self.now())
        except RecordError as err:
            self._refuse(client, message, reason=str(err))
            return
        self._deliver(client, message, code=topic.indicator, at=at, value=value)

    def _deliver(
        self, client: mqtt.Client, message: mqtt.MQTTMessage, *, code: str, at: int, value: float
    ) -> None:
        while not self.stopping.is_set():
            try:
                future = self.deliver([code], np.array([at]), np.array([value]))
            except Overloaded as err:  # hold the broker back until the queue has room
                self.stopping.wait(err.retry_after_s)
                continue
            except InvalidInput as err:
                self._refuse(client, message, reason=str(err))
                return
            future.add_done_callback(lambda done: self._settled(client, message, done=done))
            return

    def _settled(
        self, client: mqtt.Client, message: mqtt.MQTTMessage, *, done: Future[Any]
    ) -> None:
        if done.exception() is None:
            client.ack(message.mid, message.qos)  # committed: the broker may forget it
        else:
            log.warning("MQTT message on %s not stored: %s", message.topic, done.exception())

    def _refuse(self, client: mqtt.Client, message: mqtt.MQTTMessage, *, reason: str) -> None:
        self.counts.refused += 1
        log.warning("MQTT message on %s refused: %s", message.topic, reason)
        client.ack(message.mid, message.qos)
