"""The live stream carries to each reader only what its scope holds: a warning transition goes
to the streams that see the warning's place; other topics reach scoped streams without content."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from tocsin.adapters.bus.memory import MemoryBus
from tocsin.core.access import Placement, Principal, Scope, Via, system_principal
from tocsin.core.users import Permission, Role
from tocsin.web.live import LiveFeed

PLACES = {"w-d11": Placement("D11", "natural.flood"), "w-d21": Placement("D21", "supply.water")}
P1 = Principal(
    "p1",
    Role.DUTY_OFFICER,
    frozenset({Permission.READ}),
    Scope(frozenset({"P1", "D11", "D12"}), None, "region P1 and below"),
    "P1-CP",
    Via.SESSION,
)


class Request:
    async def is_disconnected(self) -> bool:
        return False


def _collect(feed: LiveFeed, bus: MemoryBus, principal: Principal, n: int) -> list[str]:
    async def run() -> list[str]:
        stream = feed.events(Request(), principal)  # type: ignore[arg-type]
        chunks = [await stream.__anext__()]
        publisher = threading.Thread(target=_publish, args=(bus,))
        publisher.start()
        chunks += [await stream.__anext__() for _ in range(n)]
        publisher.join()
        await stream.aclose()
        return chunks[1:]

    out: list[list[str]] = []
    worker = threading.Thread(target=lambda: out.append(asyncio.run(run())))
    worker.start()
    worker.join()
    return out[0]


def _publish(bus: MemoryBus) -> None:
    bus.publish(
        "warnings", {"kind": "warning.raised", "warning_id": "w-d21", "reason": "secret D21"}
    )
    bus.publish("silences", {"id": "s-secret", "reason": "secret silence"})
    bus.publish("warnings", {"kind": "warning.raised", "warning_id": "w-d11", "reason": "D11 up"})


def test_a_scoped_stream_gets_its_warnings_and_only_a_reload_signal_for_the_rest() -> None:
    bus = MemoryBus()
    feed = LiveFeed(bus, locate=lambda i: PLACES.get(i), heartbeat_interval=5.0, max_stream_for=5.0)
    feed.attach()
    got = _collect(feed, bus, P1, 2)
    assert got[0] == "event: silences\ndata: {}\n\n"
    assert '"warning_id": "w-d11"' in got[1]
    assert not any("secret" in chunk for chunk in got)
    national: Any = _collect(feed, bus, system_principal("desk"), 3)
    assert "secret D21" in national[0]
    assert "s-secret" in national[1]
    feed.detach()
