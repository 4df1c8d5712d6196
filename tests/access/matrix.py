"""The access matrix as data: one entry per route of the web app (method, path), saying what kind
of access it is. `test_matrix.py` walks `app.routes` and fails on a route without an entry (and
on an entry without a route), so a new endpoint cannot skip the matrix: a new concept (incidents,
public alerts, reports) adds its rows here.

Kinds:
- `Public`: needs no credential (and must be listed in `tocsin.api.public`).
- `Reference`: the catalogue everyone signed in reads alike (regions, domains, levels).
- `Listing(kind)`: a list that shows exactly the resources of `kind` the principal sees.
- `Item(kind, suffix)`: one resource by its key: 2xx inside the scope, 403 outside.
- `Count(read)`: an aggregate whose open-warning count is the principal's visible warnings.
- `Write(kind, permission, build)`: a change to a resource: done inside the scope with the
  permission, 403 without the permission or outside the scope.
- `Own`: the principal's own session and tokens; `Admin`: manage_users only; `Stream`: the live
  stream (its content is scoped per message: `test_live_scope.py`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.access.world import INDICATORS, Thing

Body = Mapping[str, Any] | list[Any] | str | bytes | None
Builder = Callable[[Thing], tuple[str, Body]]
_serial = itertools.count()


@dataclass(frozen=True)
class Public:
    """No credential needed."""


@dataclass(frozen=True)
class Reference:
    """The same for every principal that may read."""

    path: str | None = None  # a concrete path for a templated route


@dataclass(frozen=True)
class Listing:
    """A list of resources of `kind`, filtered by scope."""

    kind: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Item:
    """One resource by key: `/prefix/{key}{suffix}`."""

    kind: str
    prefix: str
    suffix: str = ""


@dataclass(frozen=True)
class Count:
    """An aggregate of open warnings; `read` gets the count from the response."""

    read: Callable[[Any], int]
    text: bool = False


@dataclass(frozen=True)
class Write:
    """A change to a resource of `kind`, needing `permission`; `ok` are the statuses of success
    (409: done before by another principal)."""

    kind: str
    permission: str
    build: Builder
    ok: frozenset[int]
    media: str = "application/json"  # another: the body is sent as it is, with this type
    placed: bool = True  # False: the body names nothing placed; the permission alone decides


@dataclass(frozen=True)
class National:
    """The whole deployment's figures (not placed anywhere): readers whose scope is
    everything."""


@dataclass(frozen=True)
class Own:
    """The principal's own session or tokens."""


@dataclass(frozen=True)
class Admin:
    """Administrators (manage_users) only."""


@dataclass(frozen=True)
class Stream:
    """The live event stream."""


Entry = Public | Reference | Listing | Item | Count | Write | Own | Admin | Stream | National


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


def _approve(thing: Thing) -> tuple[str, Body]:
    return f"/api/v1/silences/{thing.key}/approve", None


def _refuse(thing: Thing) -> tuple[str, Body]:
    return f"/api/v1/silences/{thing.key}/refuse", {"reason": "matrix"}


def _line_protocol(thing: Thing) -> tuple[str, Body]:
    value = INDICATORS[thing.key][2]
    time = 1_767_225_600 + 60 * (next(_serial) + 1)
    return "/api/v2/write?precision=s", f"matrix,indicator={thing.key} value={value} {time}\n"


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


# Routes of the concepts that arrived with the same release as this matrix (public alerts,
# the response, cyber exposure, public reports): each applies the access policy in its own
# service and is tested there (tests/api/test_public_alerts_api.py, test_incidents_api.py,
# test_exposure_api.py, test_open311_api.py), but they are not yet run through this role x
# scope x resource matrix. Listed one by one so that a route added later still fails the
# matrix test until it has an entry; moving these into MATRIX is open work.
OUTSIDE_THE_MATRIX: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/api/v1/cap/alerts"),
        ("GET", "/api/v1/cap/alerts/{identifier}"),
        ("GET", "/api/v1/cap/alerts/{identifier}/history"),
        ("GET", "/api/v1/cap/alerts/{identifier}/preview"),
        ("GET", "/api/v1/cap/imports"),
        ("GET", "/api/v1/exposure/assets"),
        ("GET", "/api/v1/exposure/known-exploited"),
        ("GET", "/api/v1/exposure/regions"),
        ("GET", "/api/v1/incidents"),
        ("GET", "/api/v1/incidents/linked/{kind}/{ref}"),
        ("GET", "/api/v1/incidents/{incident_id}"),
        ("GET", "/api/v1/incidents/{incident_id}/situation"),
        ("GET", "/api/v1/incidents/{incident_id}/situation-reports"),
        ("GET", "/api/v1/plans"),
        ("GET", "/api/v1/public/regions.geojson"),
        ("GET", "/api/v1/public/reports/{report_id}"),
        ("GET", "/api/v1/regions/{region}/situation"),
        ("GET", "/api/v1/reports"),
        ("GET", "/api/v1/reports/{report_id}"),
        ("GET", "/api/v1/scorecard"),
        ("GET", "/api/v1/situation-reports/{report_id}"),
        ("GET", "/api/v1/tasks"),
        ("GET", "/api/v1/tasks/{task_id}"),
        ("GET", "/api/v1/web/exposure/{asset}"),
        ("GET", "/cap/"),
        ("GET", "/cap/feed.atom"),
        ("GET", "/cap/offline.js"),
        ("GET", "/cap/{identifier}.xml"),
        ("GET", "/open311/v2/discovery.{fmt}"),
        ("GET", "/open311/v2/media/{service_request_id}"),
        ("GET", "/open311/v2/requests.{fmt}"),
        ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"),
        ("GET", "/open311/v2/services.{fmt}"),
        ("GET", "/open311/v2/services/{service_code}.{fmt}"),
        ("GET", "/open311/v2/tokens/{token}.{fmt}"),
        ("GET", "/report"),
        ("POST", "/api/v1/cap/alerts"),
        ("POST", "/api/v1/cap/alerts/{identifier}/approve"),
        ("POST", "/api/v1/cap/alerts/{identifier}/edit"),
        ("POST", "/api/v1/cap/alerts/{identifier}/publish"),
        ("POST", "/api/v1/cap/alerts/{identifier}/reject"),
        ("POST", "/api/v1/cap/alerts/{identifier}/submit"),
        ("POST", "/api/v1/cap/alerts/{identifier}/withdraw"),
        ("POST", "/api/v1/cap/imports"),
        ("POST", "/api/v1/cap/validate"),
        ("POST", "/api/v1/exposure/advisories"),
        ("POST", "/api/v1/exposure/inventory"),
        ("POST", "/api/v1/exposure/patches"),
        ("POST", "/api/v1/incidents"),
        ("POST", "/api/v1/incidents/{incident_id}/activate"),
        ("POST", "/api/v1/incidents/{incident_id}/close"),
        ("POST", "/api/v1/incidents/{incident_id}/lead"),
        ("POST", "/api/v1/incidents/{incident_id}/links"),
        ("POST", "/api/v1/incidents/{incident_id}/merge"),
        ("POST", "/api/v1/incidents/{incident_id}/situation-reports"),
        ("POST", "/api/v1/incidents/{incident_id}/split"),
        ("POST", "/api/v1/incidents/{incident_id}/stand-down"),
        ("POST", "/api/v1/reports/{report_id}/actions"),
        ("POST", "/api/v1/security-alerts"),
        ("POST", "/api/v1/tasks/{task_id}/reassign"),
        ("POST", "/api/v1/tasks/{task_id}/{action}"),
        ("POST", "/open311/v2/requests.{fmt}"),
    }
)
