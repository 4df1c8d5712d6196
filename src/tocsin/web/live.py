"""Live updates: warning transitions from the bus, streamed to browsers as server-sent events.

The bus calls listeners synchronously in whatever thread committed the change (a request's worker
thread, an ingest loop); each open stream owns an asyncio queue that is fed with
`call_soon_threadsafe`, so no thread ever touches another loop's objects. A stream that falls
behind by more than `QUEUE_SIZE` messages is told to `resync` (reload what it shows) instead of
growing without bound. A stream ends after `max_stream_for` seconds; the browser's EventSource
reconnects by itself (after `retry` ms) and reloads on reconnecting, so no server shutdown waits
for long on an open browser tab.

Each stream carries only what its reader's scope holds: a warning transition goes to the streams
whose principal sees the warning's region and domain (looked up once per message); other topics
go to scoped streams without their content (a signal to reload, which the scoped reads answer).
The browser's EventSource sends the session cookie (it cannot send headers), so no credential
ever travels in the URL.

In a storm the stream does not flood the browser: the messages that waited in a stream's queue
are sent one by one only while they are few (at most `BURST`); more become one `warnings` message
of kind `warning.burst` (how many changed, by kind, the worst level reached) and the stream then
pauses `burst_pause_for` seconds to let the next ones gather. So a browser gets at most a few
events a second however many warnings change, and reloads its aggregated views once per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from tocsin.adapters.bus.memory import MemoryBus
from tocsin.api.auth import Reader
from tocsin.api.problems import responses
from tocsin.core.access import Placement, Principal, sees
from tocsin.core.levels import LEVELS

QUEUE_SIZE = 256
BURST = 5  # more messages than this waiting at once are summarised as one
EVENT_SCHEMA = {  # one server-sent event; `data` is JSON text
    "type": "object",
    "properties": {
        "event": {"enum": ["hello", "warnings", "silences", "resync"]},
        "data": {"type": "string"},
        "retry": {"type": "integer"},
    },
}
TOPICS = frozenset({"warnings", "silences"})
Locate = Callable[[str], Placement | None]  # a warning id -> where it sits (None: gone)


class _Subscriber:
    """One open stream: its loop and queue, and whether it overflowed."""

    def __init__(self, loop: asyncio.AbstractEventLoop, principal: Principal) -> None:
        self.loop = loop
        self.principal = principal
        self.queue: asyncio.Queue[tuple[str, Mapping[str, Any]]] = asyncio.Queue(QUEUE_SIZE)

    def offer(self, item: tuple[str, Mapping[str, Any]]) -> None:
        """Called in the subscriber's loop: enqueue, or replace the backlog with one resync."""
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(("resync", {}))

    def drain(self) -> list[tuple[str, Mapping[str, Any]]]:
        """Everything waiting in the queue now."""
        out = []
        while not self.queue.empty():
            out.append(self.queue.get_nowait())
        return out


def burst_message(messages: list[Mapping[str, Any]]) -> dict[str, Any]:
    """One message standing for many warning transitions: how many, by kind, the worst level."""
    kinds = Counter(str(m.get("kind", "")).removeprefix("warning.") for m in messages)
    reached = {str(m.get("to_level")) for m in messages}
    worst = max((lv for lv in LEVELS if lv.value in reached), key=lambda lv: lv.rank, default=None)
    told = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
    return {
        "kind": "warning.burst",
        "count": len(messages),
        "by_kind": dict(kinds),
        "to_level": worst.value if worst is not None else None,
        "reason": f"{len(messages)} warnings changed ({told})",
    }


def coalesce(
    items: list[tuple[str, Mapping[str, Any]]], *, burst: int = BURST
) -> list[tuple[str, Mapping[str, Any]]]:
    """What a stream sends for the messages that waited: each of them while they are few (at
    most `burst`); else one burst message for the warnings and each other topic once (the
    browser reloads on it)."""
    if len(items) <= burst:
        return items
    warnings = [payload for topic, payload in items if topic == "warnings"]
    out: list[tuple[str, Mapping[str, Any]]] = []
    if warnings:
        out.append(("warnings", burst_message(warnings)))
    others = dict.fromkeys(topic for topic, _ in items if topic != "warnings")
    out.extend((topic, {}) for topic in others)
    return out


class LiveFeed:
    """Fans bus messages out to the open event streams."""

    def __init__(
        self,
        bus: MemoryBus,
        *,
        locate: Locate,
        heartbeat_interval: float = 15.0,
        max_stream_for: float = 60.0,
        burst_pause_for: float = 1.0,
        burst: int = BURST,
    ) -> None:
        self.bus = bus
        self.burst = burst
        self.locate = locate
        self.heartbeat_interval = heartbeat_interval
        self.max_stream_for = max_stream_for
        self.burst_pause_for = burst_pause_for
        self._subscribers: set[_Subscriber] = set()
        self._lock = threading.Lock()
        self._detach: Callable[[], None] | None = None

    def attach(self) -> None:
        """Start listening to the bus (idempotent)."""
        if self._detach is None:
            self._detach = self.bus.listen(self._on_message)

    def detach(self) -> None:
        """Stop listening to the bus."""
        if self._detach is not None:
            self._detach()
            self._detach = None

    @property
    def streams(self) -> int:
        """How many streams are open."""
        with self._lock:
            return len(self._subscribers)

    def _on_message(self, topic: str, payload: Mapping[str, Any]) -> None:
        if topic not in TOPICS:
            return
        with self._lock:
            subscribers = list(self._subscribers)
        place: Placement | None = None
        if topic == "warnings" and any(not s.principal.scope.national for s in subscribers):
            place = self.locate(str(payload.get("warning_id", "")))
        for sub in subscribers:
            item = _shown(sub.principal, topic, payload, place)
            if item is None:
                continue
            with contextlib.suppress(RuntimeError):  # its loop has closed meanwhile
                sub.loop.call_soon_threadsafe(sub.offer, item)

    async def events(self, request: Request, principal: Principal) -> AsyncGenerator[str, None]:
        """The text/event-stream of one client (what its principal's scope holds)."""
        loop = asyncio.get_running_loop()
        sub = _Subscriber(loop, principal)
        with self._lock:
            self._subscribers.add(sub)
        started = loop.time()
        try:
            yield "retry: 1000\nevent: hello\ndata: {}\n\n"
            while (left := self.max_stream_for - (loop.time() - started)) > 0:
                if await request.is_disconnected():
                    break
                try:
                    first = await asyncio.wait_for(
                        sub.queue.get(), timeout=min(self.heartbeat_interval, left)
                    )
                except TimeoutError:
                    yield ": heartbeat\n\n"
                    continue
                waiting = [first, *sub.drain()]
                for topic, payload in coalesce(waiting, burst=self.burst):
                    yield f"event: {topic}\ndata: {json.dumps(payload, default=str)}\n\n"
                if len(waiting) > self.burst:  # a storm: let the next ones gather
                    await asyncio.sleep(min(self.burst_pause_for, left))
        finally:
            with self._lock:
                self._subscribers.discard(sub)


def _shown(
    principal: Principal, topic: str, payload: Mapping[str, Any], place: Placement | None
) -> tuple[str, Mapping[str, Any]] | None:
    """What a stream of this principal gets of a message (None: nothing)."""
    if principal.scope.national:
        return topic, dict(payload)
    if topic == "warnings":
        return (topic, dict(payload)) if place and sees(principal.scope, place) else None
    return topic, {}


def make_router(feed: LiveFeed) -> APIRouter:
    """GET /api/v1/web/live: the event stream (the session cookie or a bearer token)."""
    router = APIRouter(prefix="/api/v1/web", tags=["dashboard"])

    @router.get(
        "/live",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"text/event-stream": {"schema": EVENT_SCHEMA}}},
            **responses(401, 403, 422),
        },
    )
    async def live(request: Request, principal: Reader) -> StreamingResponse:
        """Server-sent events: `warnings` (a transition in the user's scope), `silences`,
        `resync`, `hello`. The browser's EventSource sends the session cookie."""
        return StreamingResponse(
            feed.events(request, principal),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return router
