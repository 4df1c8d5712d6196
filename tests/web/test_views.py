"""The dashboard's server side without a browser: geometry, decimation, roll-up, live stream."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from tests.web.conftest import Served, T, small_container
from tocsin.adapters.bus.memory import MemoryBus
from tocsin.adapters.vulnerability_feeds import parse_feed
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.exposure.advisories import Feed
from tocsin.core.users import Role
from tocsin.services.access import TokenRequest
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import exposure_config, write_small_config
from tocsin.web.app import create_web_app
from tocsin.web.geometry import round_ring, simplify
from tocsin.web.live import LiveFeed
from tocsin.web.region_levels import RegionLevels
from tocsin.web.views import decimate

SYSTEM = system_principal("test")

T_ = TypeVar("T_")


def _run(factory: Callable[[], Coroutine[Any, Any, T_]]) -> T_:
    """Run a coroutine on a fresh loop in its own thread (Playwright's sync API may hold a loop
    in this one when the browser tests ran first)."""
    out: list[T_] = []
    worker = threading.Thread(target=lambda: out.append(asyncio.run(factory())))
    worker.start()
    worker.join()
    return out[0]


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=3000), st.integers(100, 1000))
def test_decimation_keeps_the_extremes_and_the_order(values: list[float], points: int) -> None:
    v = np.array(values)
    t = np.arange(len(v), dtype=np.int64)
    times, kept = decimate(t, v, points)
    assert len(times) <= max(points, len(v) if len(v) <= points else points)
    assert np.all(np.diff(times) > 0)
    assert kept.max() == v.max()
    assert kept.min() == v.min()
    assert np.array_equal(kept, v[times])


def test_rounding_drops_collapsed_points_and_degenerate_rings() -> None:
    ring = [[0.0, 0.0], [0.001, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]
    assert round_ring(ring, 2) == [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]
    sliver = [[0.0, 0.0], [0.001, 0.0], [0.001, 0.001], [0.0, 0.0]]
    square = [[5.0, 5.0], [6.0, 5.0], [6.0, 6.0], [5.0, 5.0]]
    multi = {"type": "MultiPolygon", "coordinates": [[sliver], [square]]}
    assert simplify(multi, 2) == {"type": "MultiPolygon", "coordinates": [[square]]}
    assert simplify({"type": "Polygon", "coordinates": [sliver]}, 2) is None


def test_the_highest_level_rolls_up_to_every_ancestor(tmp_path: Path) -> None:
    container, _ = small_container(tmp_path)
    served = Served("", container, "")
    served.ingest([("D11.river_level", T, 5.5), ("D21.reservoir", T, 25.0)])
    levels = container.warnings.worst_levels(principal=SYSTEM)
    assert {k: (v["level"], v["count"]) for k, v in levels.items()} == {
        "D11": ("red", 1),
        "P1": ("red", 1),
        "D21": ("yellow", 1),
        "P2": ("yellow", 1),
        "N": ("red", 2),
    }
    container.close()


def test_no_open_warning_gives_no_level(tmp_path: Path) -> None:
    container, _ = small_container(tmp_path)
    assert container.warnings.worst_levels(principal=SYSTEM) == {}
    container.close()


def test_the_map_endpoint_returns_the_children_with_their_levels(tmp_path: Path) -> None:
    container, token = small_container(tmp_path)
    Served("", container, "").ingest([("D11.river_level", T, 5.5)])
    good = {"Authorization": f"Bearer {token}"}
    with TestClient(create_web_app(container, risk=None), headers=good) as client:
        top = client.get("/api/v1/web/map").json()
        assert top["focus"]["code"] == "N"
        assert {f["id"]: f["properties"]["warning_level"] for f in top["features"]} == {
            "P1": "red",
            "P2": None,
        }
        assert top["risk_available"] is False
        down = client.get("/api/v1/web/map", params={"parent": "P1"}).json()
        assert [c["code"] for c in down["path"]] == ["N", "P1"]
        assert sorted(f["id"] for f in down["features"]) == ["D11", "D12"]
        assert client.get("/api/v1/web/map", params={"parent": "nope"}).status_code == 404
        chart = client.get("/api/v1/web/indicators/D11.river_level/chart").json()
        assert chart["values"] == [5.5]
        assert [m["kind"] for m in chart["moments"]] == ["raised"]
        scores = client.get("/api/v1/web/indicators/D11.river_level/scores").json()
        assert scores["times"] == chart["times"]
        assert len(scores["scores"]) == 1
        assert client.get("/api/v1/web/risk/N").json()["available"] is False
        assert client.get("/vendor/plotly.min.js").status_code == 200
        assert client.get("/vendor/leaflet/leaflet.js").status_code == 200
        page = client.get("/")
        assert "connect-src 'self'" in page.headers["content-security-policy"]
    container.close()


class _Connected:
    """A request whose client never goes away."""

    async def is_disconnected(self) -> bool:
        return False


def test_the_live_feed_delivers_messages_published_from_another_thread() -> None:
    bus = MemoryBus()
    feed = LiveFeed(bus, locate=lambda _: None, heartbeat_interval=5.0, max_stream_for=5.0)
    feed.attach()

    async def run() -> list[str]:
        stream = feed.events(_Connected(), SYSTEM)  # type: ignore[arg-type]
        chunks = [await stream.__anext__()]  # hello: the stream is registered
        publisher = threading.Thread(
            target=bus.publish, args=("warnings", {"kind": "warning.raised", "warning_id": "w1"})
        )
        publisher.start()
        chunks.append(await stream.__anext__())
        publisher.join()
        await stream.aclose()
        return chunks

    hello, message = _run(run)
    assert hello.startswith("retry: 1000\nevent: hello")
    assert message == ('event: warnings\ndata: {"kind": "warning.raised", "warning_id": "w1"}\n\n')
    assert feed.streams == 0
    feed.detach()
    bus.publish("warnings", {"kind": "x"})  # no listener left: nothing to deliver to


def test_a_storm_reaches_the_browser_as_one_summary_not_one_event_per_warning() -> None:
    bus = MemoryBus()
    feed = LiveFeed(
        bus,
        locate=lambda _: None,
        heartbeat_interval=5.0,
        max_stream_for=5.0,
        burst_pause_for=0.01,
    )
    feed.attach()

    def storm() -> None:
        for i in range(200):
            level = "red" if i == 7 else "orange"
            bus.publish(
                "warnings", {"kind": "warning.raised", "warning_id": f"w{i}", "to_level": level}
            )
        bus.publish("silences", {"kind": "silence.created"})

    async def run() -> list[str]:
        stream = feed.events(_Connected(), SYSTEM)  # type: ignore[arg-type]
        chunks = [await stream.__anext__()]
        publisher = threading.Thread(target=storm)
        publisher.start()
        publisher.join()  # all 201 wait in the queue before the stream reads again
        chunks += [await stream.__anext__() for _ in range(2)]
        bus.publish(
            "warnings", {"kind": "warning.lifted", "warning_id": "w1", "to_level": "orange"}
        )
        chunks.append(await stream.__anext__())
        await stream.aclose()
        return chunks

    _, burst, silences, after = _run(run)
    assert burst.startswith("event: warnings\ndata: ")
    summary = json.loads(burst.split("data: ", 1)[1])
    assert summary == {
        "kind": "warning.burst",
        "count": 200,
        "by_kind": {"raised": 200},
        "to_level": "red",
        "reason": "200 warnings changed (200 raised)",
    }
    assert silences == "event: silences\ndata: {}\n\n"
    assert json.loads(after.split("data: ", 1)[1])["kind"] == "warning.lifted"  # quiet: one by one
    feed.detach()


def test_a_slow_stream_is_told_to_resync_instead_of_growing() -> None:
    from tocsin.web import live

    async def run() -> list[Any]:
        sub = live._Subscriber(asyncio.get_running_loop(), SYSTEM)
        for i in range(live.QUEUE_SIZE + 5):
            sub.offer(("warnings", {"n": i}))
        return [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]

    n = live.QUEUE_SIZE
    # the backlog (and the message that overflowed it) became one resync; later ones follow
    later = [("warnings", {"n": i}) for i in range(n + 1, n + 5)]
    assert _run(run) == [("resync", {}), *later]


def test_a_deployment_shows_only_the_risk_model_its_settings_name(tmp_path: Path) -> None:
    """Run from a checkout that holds models/inform_2023.yaml, a deployment that names no risk
    model shows none (no other deployment's world ranking); one that names a model shows it."""
    container, _ = small_container(tmp_path)
    unnamed = create_web_app(container)
    assert unnamed.state.risk.sources is None
    assert "no risk model configured" in unnamed.state.risk.reason()
    model, table = tmp_path / "model.yaml", tmp_path / "table.csv"
    named = container.settings.model_copy(update={"risk_model": model, "risk_table": table})
    container.settings = named
    assert create_web_app(container).state.risk.sources.model == model


def test_the_dashboard_endpoints_are_private_and_the_live_stream_takes_no_token_in_its_url(
    tmp_path: Path,
) -> None:
    container, token = small_container(tmp_path)
    app = create_web_app(container, risk=None, live_max_stream_for=0.05)
    client = TestClient(app)
    for url in ("/api/v1/web/summary", "/api/v1/web/map", "/api/v1/web/live"):
        refused = client.get(url)
        assert refused.status_code == 401, url
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        assert refused.json()["detail"].startswith("a bearer token is required")
    # a token in the URL is never a credential (it would end up in logs and histories)
    assert client.get(f"/api/v1/web/live?token={token}").status_code == 401
    good = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/web/summary", headers=good).status_code == 200
    with client.stream("GET", "/api/v1/web/live", headers=good) as stream:
        assert stream.status_code == 200
        assert "event: hello" in stream.read().decode()
    # the page itself (public, without data) carries the level table for its scripts and styles
    page = client.get("/").text
    assert '<script id="tocsin-levels" type="application/json">' in page
    assert ".lvl-red{--lvl:" in page
    assert '<p id="sign-in-oidc" hidden>' in page  # no identity provider configured
    container.close()


def test_the_map_levels_are_read_once_per_change_of_the_warnings() -> None:
    bus = MemoryBus()
    state = {"D11": {"level": "red", "rank": 4, "count": 1}}
    levels = RegionLevels(lambda: dict(state), bus)
    assert levels.read() == state
    assert levels.read() == state
    assert levels.readings == 1  # one reading serves every request while nothing changes
    bus.publish("silences", {"kind": "silence.created"})
    assert levels.read() == state
    assert levels.readings == 1
    state["D12"] = {"level": "yellow", "rank": 2, "count": 3}
    bus.publish("warnings", {"kind": "warning.raised"})  # after the change's commit
    assert levels.read() == state  # never the state before a change it heard of
    assert levels.readings == 2
    aging = RegionLevels(lambda: dict(state), bus, max_age_for=0.0)
    aging.read()
    aging.read()
    assert aging.readings == 2  # too old: changes of other processes are read again


EXPOSURE = Path(__file__).parent.parent / "fixtures" / "exposure"


def test_the_cyber_model_is_computed_live_from_the_exposure(tmp_path: Path) -> None:
    """`?model=cyber_exposure` ranks regions by their exposure now: an import raises and a
    patch lowers the score at the next read; an unknown model is a 404 naming the models."""
    config = write_small_config(tmp_path / "config", **exposure_config())
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", config_dir=config)
    container = build(settings, clock=FakeClock())
    container.admin.add_user("duty", Role.DUTY_OFFICER, unit="NAT", actor="test")
    token = container.access.issue("duty", TokenRequest("test"), actor="test")[1]
    client = TestClient(
        create_web_app(container, risk=None), headers={"Authorization": f"Bearer {token}"}
    )
    quiet = client.get("/api/v1/web/risk?model=cyber_exposure").json()  # inventoried only
    quiet_d11 = {r["code"]: r["value"] for r in quiet["regions"]}["D11"]
    for feed in ("nvd", "kev"):
        text = (EXPOSURE / f"{feed}.json").read_text(encoding="utf-8")
        found = parse_feed(Feed(feed), text, where=feed)
        container.exposure.import_advisories(found, principal=SYSTEM, where=feed)
    ranked = client.get("/api/v1/web/risk?model=cyber_exposure").json()
    assert ranked["model"] == "Cyber exposure of critical infrastructure"
    assert {"id": "cyber_exposure", "name": ranked["model"], "live": True} in ranked["models"]
    before = {r["code"]: r["value"] for r in ranked["regions"]}
    assert list(before) == ["D11", "D12"]
    assert before["D11"] > quiet_d11  # the imports show at the next read
    tree = client.get("/api/v1/web/risk/D11?model=cyber_exposure").json()
    assert tree["available"] is True
    assert tree["value"] == before["D11"]
    container.exposure.record_patch("SUB", "CVE-2021-41773", principal=SYSTEM, note="upgraded")
    after = client.get("/api/v1/web/risk?model=cyber_exposure").json()
    assert {r["code"]: r["value"] for r in after["regions"]}["D11"] < before["D11"]
    missing = client.get("/api/v1/web/risk?model=nope")
    assert missing.status_code == 404
    assert "cyber_exposure" in missing.json()["detail"]
    container.close()
