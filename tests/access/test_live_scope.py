"""The live stream carries to each reader only what its scope holds: a warning transition goes
to the streams that see the warning's place; other topics reach scoped streams without content.
First on a feed alone, then as the matrix: every principal of the matrix world (each role and
scope) streams from a running server while a transition of every warning of the world, inside
and outside its scope, is published on the deployment's bus."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from typing import Any

import httpx
import pytest

from tests.access.world import WHO, Who, World
from tocsin.adapters.bus.memory import MemoryBus
from tocsin.core.access import Placement, Principal, Scope, Via, system_principal
from tocsin.core.users import Permission, Role
from tocsin.web.app import create_web_app
from tocsin.web.live import LiveFeed
from tocsin.web.server import serving

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


SILENCE = {"id": "live-silence", "reason": "live-silence-secret"}
END = {"id": "live-end"}


def _transitions(world: World) -> dict[str, dict[str, str]]:
    """A transition of every warning of the world (shaped as `publishing.warning_message`
    shapes it), its reason a marker of the warning; and one of a warning that is gone."""
    ids = [t.key for t in world.of("warning")] + ["live-gone"]
    return {
        i: {"kind": "warning.acknowledged", "warning_id": i, "reason": f"live-{i}", "actor": "m"}
        for i in ids
    }


def _stream(
    url: str, token: str, world: World, sent: dict[str, dict[str, str]], *, quiet: float = 30
) -> list[str]:
    """The events one principal's stream gets while the transitions are published, up to the
    second `silences` event (the end marker, which reaches every stream), or until the stream
    has been quiet for `quiet` seconds (burst summaries send one `silences` for the start and
    end markers when both wait in the same batch)."""
    headers = {"Authorization": f"Bearer {token}"}
    timeout = httpx.Timeout(30, read=quiet)
    events: list[str] = []
    with (
        httpx.Client(base_url=url, headers=headers, timeout=timeout) as client,
        client.stream("GET", "/api/v1/web/live") as stream,
        contextlib.suppress(httpx.ReadTimeout),
    ):
        assert stream.status_code == 200
        text = ""
        for chunk in stream.iter_text():
            text += chunk
            while "\n\n" in text:
                event, text = text.split("\n\n", 1)
                events.append(event)
                if event.endswith("event: hello\ndata: {}"):  # subscribed: now publish
                    _publish_all(world, sent)
            if sum("event: silences" in e for e in events) == 2:
                break
    return events


def _publish_all(world: World, sent: dict[str, dict[str, str]]) -> None:
    bus = world.container.bus
    bus.publish("silences", SILENCE)
    for payload in sent.values():
        bus.publish("warnings", payload)
    bus.publish("silences", END)


@pytest.mark.parametrize("who", WHO, ids=[w.name for w in WHO])
def test_each_principal_streams_the_transitions_in_its_scope_and_no_other(
    world: World, who: Who
) -> None:
    sent = _transitions(world)
    # every message alone (no burst summaries), so each one the stream lets through is seen
    app = create_web_app(world.container, risk=None, live_max_stream_for=30, live_burst=10_000)
    with serving(app) as url:
        events = _stream(url, world.tokens[who.name], world, sent)
    got = {e.split('"warning_id": "')[1].split('"')[0] for e in events if "event: warnings" in e}
    if who.everything:
        assert got == set(sent)
        assert any("live-silence-secret" in e for e in events)
        return
    seen = {t.key for t in world.of("warning") if who.sees_thing(t)}
    assert got == seen, (who.name, sorted(got ^ seen))
    text = "\n".join(events)
    for warning, payload in sent.items():
        assert warning in seen or payload["reason"] not in text, (who.name, warning)
    assert "live-silence" not in text  # another topic: a signal to reload, without content
    assert [e for e in events if "event: silences" in e] == ["event: silences\ndata: {}"] * 2


@pytest.mark.parametrize("who", WHO, ids=[w.name for w in WHO])
def test_a_burst_summary_counts_only_the_transitions_in_scope(world: World, who: Who) -> None:
    """In a storm the stream sends one summary for many transitions: its count is of what the
    principal may see, never of the whole storm."""
    sent = _transitions(world)
    app = create_web_app(world.container, risk=None, live_max_stream_for=30, live_burst=0)
    with serving(app) as url:
        events = _stream(url, world.tokens[who.name], world, sent, quiet=3)
    counted = sum(
        json.loads(e.split("data: ", 1)[1])["count"] for e in events if "event: warnings" in e
    )
    seen = {t.key for t in world.of("warning") if who.sees_thing(t)}
    assert counted == (len(sent) if who.everything else len(seen)), who.name
    assert who.everything or not any("live-" in e for e in events)
