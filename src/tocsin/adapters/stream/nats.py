"""The ingest stream on NATS JetStream (nats-py): the ObservationStream and StreamReader ports.

One JetStream stream (`TOCSIN_STREAM_NAME`) holds every partition, one subject each
(`<TOCSIN_STREAM_SUBJECT>.<partition>`), on file storage, with a duplicate window in which a
second append under the same `Nats-Msg-Id` is dropped. A publish is answered by the server
once the message is stored (on a cluster: by a quorum of replicas), so an append returns only
when every part is durable.

A worker reads a partition through a pull consumer created from the sequence after the one the
worker says it committed; when that differs from where the consumer stands (a restart, a
failed transaction), the consumer is made again from there. nats-py is asynchronous: the
connection lives on an event loop in a thread of its own, and the ports' methods wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from tocsin.adapters.stream.config import NatsStreamConfig
from tocsin.core.errors import Unavailable
from tocsin.ports.stream import StreamMessage, StreamPart

log = logging.getLogger(__name__)

T = TypeVar("T")
FAILURES = (nats.errors.Error, TimeoutError, OSError, Unavailable)


class NatsStream:
    """Appends to and reads from the ingest stream on a NATS JetStream server."""

    def __init__(self, config: NatsStreamConfig) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="tocsin-nats", daemon=True
        )
        self.thread.start()
        self.client: Client | None = None
        self.js: JetStreamContext | None = None
        # per partition: its pull subscription and the sequence it last delivered
        self.consumers: dict[int, tuple[JetStreamContext.PullSubscription, int]] = {}
        self.delivered: dict[tuple[int, int], Msg] = {}

    # -- the ports --------------------------------------------------------------------------
    def append(self, parts: Sequence[StreamPart]) -> None:
        """Publish every part; return once the server acknowledged each (Unavailable if not)."""
        self._call(self._append(parts), what="append to the ingest stream")

    def read(self, partition: int, *, after: int, limit: int) -> list[StreamMessage]:
        """The partition's next messages after sequence `after` (none within the wait)."""
        return self._call(self._read(partition, after, limit), what="read the ingest stream")

    def acknowledge(self, messages: Sequence[StreamMessage]) -> None:
        """Acknowledge delivered messages in one hop to the loop (their commit is what counts:
        a lost ack is harmless)."""
        found = [self.delivered.pop((m.partition, m.sequence), None) for m in messages]
        delivered = [msg for msg in found if msg is not None]
        if delivered:
            try:
                self._call(_ack_all(delivered), what="acknowledge messages")
            except Unavailable as err:
                log.info("acknowledgement lost (the committed offset covers it): %s", err)

    def release(self, partitions: Sequence[int]) -> None:
        """Unsubscribe from these partitions' consumers (their new owner makes them anew from
        its committed offset) and forget what they delivered."""
        if partitions:
            self._call(self._release(set(partitions)), what="release partitions")

    def close(self) -> None:
        """Close the connection and stop the loop's thread."""
        if self.client is not None and not self.client.is_closed:
            try:
                asyncio.run_coroutine_threadsafe(self.client.close(), self.loop).result(5)
            except Exception as err:  # closing a broken connection: nothing more to do
                log.info("closing the NATS connection: %s", err)
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()

    # -- on the loop ------------------------------------------------------------------------
    def _call(self, work: Coroutine[Any, Any, T], *, what: str) -> T:
        future = asyncio.run_coroutine_threadsafe(work, self.loop)
        try:
            return future.result(self.config.timeout_s * 3)
        except FAILURES as err:
            future.cancel()
            self.consumers.clear()  # made again from the committed offsets
            if isinstance(err, Unavailable):
                raise
            raise Unavailable(
                f"cannot {what}: {type(err).__name__} {err}".strip(), retry_after_s=1
            ) from err

    async def _jetstream(self) -> JetStreamContext:
        if self.client is None or self.client.is_closed or self.js is None:
            self.client = await nats.connect(
                self.config.url,
                connect_timeout=2,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                error_cb=_quiet,
            )
            self.js = self.client.jetstream(timeout=self.config.timeout_s)
            await self._ensure_stream(self.js)
        if not self.client.is_connected:
            raise Unavailable("not connected to NATS (reconnecting)", retry_after_s=1)
        return self.js

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        c = self.config
        wanted = StreamConfig(
            name=c.name,
            subjects=[f"{c.subject}.*"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            duplicate_window=c.duplicate_window_s,
            max_age=c.max_age_s,
            num_replicas=c.replicas,
        )
        try:
            await js.stream_info(c.name)
        except nats.js.errors.NotFoundError:
            await js.add_stream(wanted)

    async def _append(self, parts: Sequence[StreamPart]) -> None:
        js = await self._jetstream()
        c = self.config
        acks = await asyncio.gather(
            *(
                js.publish(
                    f"{c.subject}.{p.partition}",
                    p.data,
                    timeout=c.timeout_s,
                    stream=c.name,
                    headers={"Nats-Msg-Id": p.message_id},
                )
                for p in parts
            ),
            return_exceptions=True,
        )
        failed = [a for a in acks if isinstance(a, BaseException)]
        if failed:
            raise Unavailable(
                f"{len(failed)} of {len(parts)} parts not acknowledged by the stream "
                f"({type(failed[0]).__name__}); send the batch again",
                retry_after_s=1,
            )

    async def _read(self, partition: int, after: int, limit: int) -> list[StreamMessage]:
        js = await self._jetstream()
        sub, position = self.consumers.get(partition, (None, -1))
        if sub is None or position != after:
            sub = await self._consumer(js, partition, after)
        try:
            found = await sub.fetch(batch=limit, timeout=self.config.fetch_wait_s)
        except (TimeoutError, nats.errors.TimeoutError):  # nothing came in the wait
            found = []
        out = []
        for msg in found:
            sequence = msg.metadata.sequence.stream
            self.delivered[(partition, sequence)] = msg
            out.append(StreamMessage(partition, sequence, msg.data))
        self.consumers[partition] = (sub, out[-1].sequence if out else after)
        return out

    async def _release(self, partitions: set[int]) -> None:
        self.delivered = {k: m for k, m in self.delivered.items() if k[0] not in partitions}
        for partition in partitions:
            old = self.consumers.pop(partition, None)
            if old is not None:
                with contextlib.suppress(*FAILURES):
                    await old[0].unsubscribe()

    async def _consumer(
        self, js: JetStreamContext, partition: int, after: int
    ) -> JetStreamContext.PullSubscription:
        """A pull consumer of the partition from sequence `after + 1`, made anew."""
        c = self.config
        name = f"tocsin-p{partition}"
        self.delivered = {k: m for k, m in self.delivered.items() if k[0] != partition}
        old = self.consumers.pop(partition, None)
        if old is not None:
            await old[0].unsubscribe()
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_consumer(c.name, name)
        start = (
            {"deliver_policy": DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": after + 1}
            if after > 0
            else {"deliver_policy": DeliverPolicy.ALL}
        )
        config = ConsumerConfig(
            durable_name=name,
            filter_subject=f"{c.subject}.{partition}",
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=30,
            max_ack_pending=10_000,
            **start,
        )
        await js.add_consumer(c.name, config)
        return await js.pull_subscribe_bind(durable=name, stream=c.name)


async def _ack_all(messages: Sequence[Msg]) -> None:
    for msg in messages:
        await msg.ack()  # a publish to the reply subject: buffered, sent together


async def _quiet(err: Exception) -> None:
    """nats-py's error callback: a line in the log, not a traceback on stderr."""
    log.info("NATS: %s", err)
