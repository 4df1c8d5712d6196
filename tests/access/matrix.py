"""The access matrix as data: one entry per route of the web app (method, path), saying what kind
of access it is (`kinds.py`). `test_matrix.py` walks `app.routes` and fails on a route without
an entry (and on an entry without a route), so a new endpoint cannot skip the matrix. The rows of
public alerts, the response, public reports and cyber exposure are in `concept_rows.py`.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from tests.access.concept_rows import ROWS
from tests.access.kinds import (
    Admin,
    Body,
    Count,
    Entry,
    Filtered,
    Item,
    Listing,
    National,
    Own,
    Placed,
    Public,
    Reference,
    Refused,
    Stream,
    Write,
)
from tests.access.world import INDICATORS, Thing

_serial = itertools.count()


def _observations(thing: Thing) -> tuple[str, Body]:
    value = INDICATORS[thing.key][2]
    time = 1_767_225_600 + 60 * (next(_serial) + 1)
    return "/api/v1/observations", {
        "observations": [{"indicator": thing.key, "time": time, "value": value}]
    }


def _event(thing: Thing) -> tuple[str, Body]:
    n = next(_serial)
    event = {
        "source": "matrix",
        "external_id": f"e{n}",
        "occurred_at": "2026-01-01T00:00:00Z",
        "region": thing.region,
        "domain": thing.domain,
        "severity": "blue",
        "title": f"event {n}",
    }
    return "/api/v1/events", {"events": [event]}


def _alert(thing: Thing) -> tuple[str, Body]:
    labels = {
        "alertname": f"Matrix{next(_serial)}",
        "region": thing.region,
        "domain": thing.domain,
        "level": "blue",
    }
    return "/api/v2/alerts", [{"labels": labels}]


def _silence(thing: Thing) -> tuple[str, Body]:
    body = {
        "region": thing.region,
        "domain": thing.domain,
        "ends_at": "2026-01-01T02:00:00Z",
        "reason": "matrix",
    }
    return "/api/v1/silences", body


def _acknowledge(thing: Thing) -> tuple[str, Body]:
    return f"/api/v1/warnings/{thing.key}/acknowledge", {"reason": "matrix"}


def _expire(thing: Thing) -> tuple[str, Body]:
    return f"/api/v1/silences/{thing.key}/expire", {"reason": "matrix"}


def _expire_am(thing: Thing) -> tuple[str, Body]:
    return f"/api/v2/silence/{thing.key}", None  # Alertmanager's (amtool silence expire)


def _am_silence(thing: Thing) -> tuple[str, Body]:
    matchers = [{"name": "region", "value": thing.region or "N", "isRegex": False}]
    body = {
        "matchers": matchers,
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "2026-01-01T02:00:00Z",
        "createdBy": "matrix",
        "comment": "matrix",
    }
    return "/api/v2/silences", body


def _am_alerts(body: Any) -> Placed:
    """GET /api/v2/alerts: each alert by fingerprint, placed by its region and domain labels."""
    return [(a["fingerprint"], (a["labels"]["region"], a["labels"]["domain"])) for a in body]


def _approve(thing: Thing) -> tuple[str, Body]:
    return f"/api/v1/silences/{thing.key}/approve", None


def _refuse(thing: Thing) -> tuple[str, Body]:
    return f"/api/v1/silences/{thing.key}/refuse", {"reason": "matrix"}


def _line_protocol(thing: Thing) -> tuple[str, Body]:
    value = INDICATORS[thing.key][2]
    time = 1_767_225_600 + 60 * (next(_serial) + 1)
    return "/api/v2/write?precision=s", f"matrix,indicator={thing.key} value={value} {time}\n"


def _influx_v1(thing: Thing) -> tuple[str, Body]:
    value = INDICATORS[thing.key][2]
    time = 1_767_225_600 + 60 * (next(_serial) + 1)
    return "/write?db=matrix&precision=s", f"matrix,indicator={thing.key} value={value} {time}\n"


def _remote_write(_: Thing) -> tuple[str, Body]:
    return "/api/v1/write", b"\x00"  # snappy of nothing: no series, the permission decides


def _open_count(body: Any) -> int:
    return int(body["open"])


def _map_count(body: Any) -> int:
    focus = body["focus"]
    return int(focus["warning_count"]) if focus else 0


def _metrics_count(text: str) -> int:
    return sum(int(m) for m in re.findall(r"^tocsin_open_warnings\{[^}]*\} (\d+)$", text, re.M))


PLACES = "place"  # a kind whose things are (region, domain) pairs, for writes that name a place
MATRIX: dict[tuple[str, str], Entry] = {
    # public
    ("GET", "/healthz"): Public(),
    ("GET", "/ping"): Public(),  # InfluxDB 1.x's, for its clients
    ("GET", "/"): Public(),
    ("GET", "/favicon.ico"): Public(),
    ("GET", "/vendor/plotly.min.js"): Public(),
    ("GET", "/docs"): Public(),
    ("GET", "/openapi.json"): Public(),
    ("MOUNT", "/static"): Public(),
    ("MOUNT", "/vendor/leaflet"): Public(),
    ("MOUNT", "/docs/assets"): Public(),
    ("POST", "/api/v1/session"): Public(),
    ("GET", "/api/v1/session/oidc"): Public(),
    ("GET", "/api/v1/session/oidc/callback"): Public(),
    # the catalogue
    ("GET", "/api/v1/regions"): Reference(),
    ("GET", "/api/v1/regions.geojson"): Reference(),
    ("GET", "/api/v1/domains"): Reference(),
    ("GET", "/api/v1/levels"): Reference(),
    ("GET", "/api/v1/indicators"): Listing("indicator"),
    # warnings
    ("GET", "/api/v1/warnings"): Listing("warning"),
    ("GET", "/api/v1/warnings/{warning_id}"): Item("warning", "/api/v1/warnings/"),
    ("GET", "/api/v1/warnings/{warning_id}/history"): Item(
        "warning", "/api/v1/warnings/", "/history"
    ),
    ("GET", "/api/v1/warnings/{warning_id}/delivery"): Item(
        "warning", "/api/v1/warnings/", "/delivery"
    ),
    ("POST", "/api/v1/warnings/{warning_id}/acknowledge"): Write(
        "warning", "acknowledge", _acknowledge, frozenset({200, 409})
    ),
    # silences
    ("GET", "/api/v1/silences"): Listing("silence", {"state": "all"}),
    ("GET", "/api/v1/silences/{silence_id}"): Item("silence", "/api/v1/silences/"),
    ("POST", "/api/v1/silences"): Write(PLACES, "silence", _silence, frozenset({201})),
    # a broad silence (the world's N / power one) waits for a second user; others are 409
    ("POST", "/api/v1/silences/{silence_id}/approve"): Write(
        "silence", "silence", _approve, frozenset({200, 409})
    ),
    ("POST", "/api/v1/silences/{silence_id}/refuse"): Write(
        "silence", "silence", _refuse, frozenset({200, 409})
    ),
    ("POST", "/api/v1/silences/{silence_id}/expire"): Write(
        "silence", "silence", _expire, frozenset({200, 409})
    ),
    # notifications: each names the warnings it is about
    ("GET", "/api/v1/notifications"): Listing("notification"),
    # indicators and observations
    ("GET", "/api/v1/indicators/{code}/observations"): Item(
        "indicator", "/api/v1/indicators/", "/observations"
    ),
    ("GET", "/api/v1/indicators/{code}/scores"): Item(
        "indicator", "/api/v1/indicators/", "/scores"
    ),
    ("GET", "/api/v1/indicators/{code}/rollups"): Item(
        "indicator", "/api/v1/indicators/", "/rollups"
    ),
    ("GET", "/api/v1/web/indicators/{code}/chart"): Item(
        "indicator", "/api/v1/web/indicators/", "/chart"
    ),
    ("GET", "/api/v1/web/indicators/{code}/scores"): Item(
        "indicator", "/api/v1/web/indicators/", "/scores"
    ),
    ("POST", "/api/v1/observations"): Write("indicator", "ingest", _observations, frozenset({202})),
    # the collectors' writes (served by the ingest gate, no route of the application)
    ("POST", "/api/v2/write"): Write(
        "indicator", "ingest", _line_protocol, frozenset({204}), media="text/plain"
    ),
    ("POST", "/write"): Write(  # InfluxDB 1.x's (Telegraf's outputs.influxdb)
        "indicator", "ingest", _influx_v1, frozenset({204}), media="text/plain"
    ),
    ("POST", "/api/v1/write"): Write(
        "indicator",
        "ingest",
        _remote_write,
        frozenset({204}),
        media="application/x-protobuf",
        placed=False,
    ),
    ("GET", "/api/v1/sources"): National(),
    ("POST", "/api/v1/events"): Write(PLACES, "ingest", _event, frozenset({202})),
    ("POST", "/api/v2/alerts"): Write(PLACES, "ingest", _alert, frozenset({200})),
    # Alertmanager's API v2 reads (amtool): open warnings as alerts, silences
    ("GET", "/api/v2/alerts"): Filtered(_am_alerts),
    ("GET", "/api/v2/silences"): Listing("silence"),
    ("DELETE", "/api/v2/silence/{silence_id}"): Write(
        "silence", "silence", _expire_am, frozenset({200, 409})
    ),
    ("POST", "/api/v2/silences"): Refused(PLACES, _am_silence, 400),  # Tocsin's need a reason
    # aggregates
    ("GET", "/api/v1/web/summary"): Count(_open_count),
    ("GET", "/api/v1/web/map"): Count(_map_count),
    ("GET", "/metrics"): Count(_metrics_count, text=True),
    # risk: a region's index over every domain
    ("GET", "/api/v1/web/risk"): Listing("risk"),
    ("GET", "/api/v1/web/risk/{region}"): Item("risk", "/api/v1/web/risk/"),
    # the live stream
    ("GET", "/api/v1/web/live"): Stream(),
    # one's own session and tokens; users
    ("GET", "/api/v1/session"): Own(),
    ("DELETE", "/api/v1/session"): Own(),
    ("GET", "/api/v1/tokens"): Own(),
    ("POST", "/api/v1/tokens"): Own(),
    ("POST", "/api/v1/tokens/{token_id}/revoke"): Own(),
    ("POST", "/api/v1/tokens/{token_id}/rotate"): Own(),
    ("GET", "/api/v1/users"): Admin(),
    ("GET", "/api/v1/users/{name}/tokens"): Own(),
}
MATRIX.update(ROWS)
