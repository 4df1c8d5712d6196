"""MQTT: subscribe to topics on a broker and deliver each message as an observation.

The session is persistent (MQTT 3.1.1, `clean_session` false, a fixed client id) and every
subscription is QoS 1, so the broker keeps what arrives while Tocsin is away. A message is
acknowledged (PUBACK) only after its observation is committed: paho's manual acknowledgement.
When the ingest queue is full, the message callback waits and tries again, so the broker stops
sending once its in-flight window is full (back-pressure instead of loss). A payload that cannot
be observations (larger than `max_payload_bytes`, not UTF-8, not JSON, a key twice, not a
number, no such field, a bad time, an indicator the catalogue does not have, a time past the
server's clock) is refused whole: counted, kept with its topic and problems among the latest
refusals (`GET /api/v1/sources`), logged, and acknowledged: it would never succeed. Lost
connections are retried every 1 to 30 seconds, and the subscriptions are renewed on every
connection.

Payloads: with `value` unset, the payload is the number (UTF-8 text); otherwise a JSON object,
the value (and time) found at the dotted paths. Without `time`, the time of receipt. With
`records`, a batch: the list at that path (`""`: the payload is the list), each record an
observation; one bad record refuses the whole message (`records[i]` names it).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tocsin.adapters.sources.records import (
    TOO_LONG_NUMBER,
    Deliver,
    RecordError,
    json_reason,
    lookup,
    record_number,
    record_time,
)
from tocsin.core.duplicate_keys import DuplicateKey, loads_once
from tocsin.core.errors import InvalidInput, Overloaded, Problem
from tocsin.core.sources import MqttBroker, MqttTopic, Refusal, SourceCounts

log = logging.getLogger(__name__)

MAX_RECORDS = 10_000  # records in one batch message


@dataclass(frozen=True, slots=True)
class Rows:
    """A message's observations, each named where it is in the message."""

    codes: list[str]
    times: list[int]
    values: list[float]
    where: list[str]


class PayloadRefused(ValueError):
    """A message that cannot be observations, with the problem naming where and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def observations_of(
    topic: MqttTopic, payload: bytes, *, received_at: datetime, max_bytes: int
) -> Rows:
    """The observations of one message (one, or a batch's); PayloadRefused saying why none."""
    if len(payload) > max_bytes:
        reason = f"{len(payload):,} bytes, more than the limit of {max_bytes:,}"
        raise PayloadRefused(Problem("payload", "", f"{reason} (mqtt.broker.max_payload_bytes)"))
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as err:
        reason = f"not UTF-8 text: byte {err.start + 1} is 0x{payload[err.start]:02x}"
        raise PayloadRefused(Problem("payload", "", reason)) from None
    received = int(received_at.timestamp())
    if topic.value is None:  # the payload is the number: no field to name
        try:
            return Rows([_code(topic)], [received], [record_number(_plain(text), "")], ["payload"])
        except RecordError as err:
            raise PayloadRefused(Problem("payload", "", err.reason)) from None
    try:
        document = _json(text)
        if topic.records is None:
            return _batch(topic, [document], ["payload"], received=received)
        found = lookup(document, topic.records) if topic.records else document
    except RecordError as err:
        raise PayloadRefused(Problem("payload", err.field, err.reason)) from None
    if not isinstance(found, list) or not 0 < len(found) <= MAX_RECORDS:
        reason = f"expected a list of 1 to {MAX_RECORDS:,} records"
        raise PayloadRefused(Problem("payload", topic.records or "", reason))
    return _batch(topic, found, [f"records[{i}]" for i in range(len(found))], received=received)


def _batch(topic: MqttTopic, records: list[Any], where: list[str], *, received: int) -> Rows:
    """Every record's observation, or PayloadRefused naming the first bad one."""
    rows = Rows([], [], [], where)
    for record, at in zip(records, where, strict=True):
        try:
            rows.codes.append(_code(topic, record))
            rows.values.append(record_number(record, topic.value or ""))
            stamp = record_time(record, topic.time, unit=topic.time_unit) if topic.time else None
        except RecordError as err:
            raise PayloadRefused(Problem(at, err.field, err.reason)) from None
        rows.times.append(received if stamp is None else stamp)
    return rows


def _code(topic: MqttTopic, record: Any = None) -> str:
    """The indicator of a record: the topic's, or the one its `indicator_field` names."""
    if topic.indicator is not None:
        return topic.indicator
    code = lookup(record, topic.indicator_field or "")
    if not isinstance(code, str):
        raise RecordError(f"not an indicator code: {code!r:.40}", field=topic.indicator_field or "")
    return code


PATHS: dict[str, Callable[[MqttTopic], str | None]] = {
    "indicator": lambda t: t.indicator_field,
    "time": lambda t: t.time,
    "value": lambda t: t.value,
}


def _in_payload(topic: MqttTopic, problem: Problem) -> Problem:
    """An ingest problem with its field named as the payload has it (`ts`, not `time`)."""
    path = PATHS[problem.field](topic) if problem.field in PATHS else None
    return Problem(problem.where, path or problem.field, problem.reason)


def _json(text: str) -> Any:
    try:
        return loads_once(text)
    except DuplicateKey as err:
        raise RecordError("given more than once", field=err.key) from None
    except (ValueError, RecursionError) as err:
        raise RecordError(f"not JSON: {json_reason(err)}") from None


def _plain(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as err:
        if json_reason(err) == TOO_LONG_NUMBER:
            raise RecordError(TOO_LONG_NUMBER) from None
        raise RecordError(f"not a number: {text[:40]!r}") from None


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
            rows = observations_of(
                topic,
                bytes(message.payload),
                received_at=self.now(),
                max_bytes=self.broker.max_payload_bytes,
            )
        except PayloadRefused as err:
            self._refuse(client, message, problems=(err.problem,), rows=1)
            return
        self._deliver(client, message, topic=topic, rows=rows)

    def _deliver(
        self, client: mqtt.Client, message: mqtt.MQTTMessage, *, topic: MqttTopic, rows: Rows
    ) -> None:
        while not self.stopping.is_set():
            try:
                future = self.deliver(
                    rows.codes, np.array(rows.times), np.array(rows.values), where=rows.where
                )
            except Overloaded as err:  # hold the broker back until the queue has room
                self.stopping.wait(err.retry_after_s)
                continue
            except InvalidInput as err:  # the intake counted its rows as refused
                problems = tuple(_in_payload(topic, p) for p in err.problems)
                self._refuse(client, message, problems=problems, rows=0)
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

    def _refuse(
        self,
        client: mqtt.Client,
        message: mqtt.MQTTMessage,
        *,
        problems: tuple[Problem, ...],
        rows: int,
    ) -> None:
        """Keep the refusal where the API shows it, log it, and acknowledge the message: it
        would never succeed."""
        self.counts.refused_message(Refusal(message.topic, problems), rows)
        log.warning("MQTT message on %s refused: %s", message.topic, "; ".join(map(str, problems)))
        client.ack(message.mid, message.qos)
