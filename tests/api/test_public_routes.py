"""The endpoints served without credentials, listed: adding one is a decision made here."""

from __future__ import annotations

from tocsin.api.public import PUBLIC_ROUTES, is_public

LISTED = {
    ("GET", "/healthz", False),
    ("GET", "/ping", False),  # InfluxDB 1.x's, asked by its clients before a write
    ("GET", "/", False),
    ("GET", "/favicon.ico", False),
    ("GET", "/static/", True),
    ("GET", "/vendor/", True),
    ("GET", "/openapi.json", False),
    ("GET", "/docs", False),
    ("GET", "/docs/assets/", True),
    ("POST", "/api/v1/session", False),
    ("GET", "/api/v1/session/oidc", False),
    ("GET", "/api/v1/session/oidc/callback", False),
    ("GET", "/cap/", False),
    ("GET", "/cap/feed.atom", False),
    ("GET", "/cap/offline.js", False),
    ("GET", "/cap/", True),
    ("GET", "/report", False),
    ("GET", "/report/unsubscribe", False),
    ("POST", "/report/unsubscribe", False),
    ("GET", "/api/v1/public/reports/", True),
    ("GET", "/api/v1/public/regions.geojson", False),
    ("GET", "/open311/v2/", True),
    ("POST", "/open311/v2/", True),
}


def test_the_public_routes_are_exactly_these_each_with_a_reason() -> None:
    assert {(r.method, r.path, r.prefix) for r in PUBLIC_ROUTES} == LISTED
    assert all(len(r.why) > 10 for r in PUBLIC_ROUTES)


def test_nothing_else_is_public() -> None:
    for method, path in [
        ("GET", "/metrics"),
        ("GET", "/api/v1/warnings"),
        ("GET", "/api/v1/session"),
        ("DELETE", "/api/v1/session"),
        ("POST", "/healthz"),
        ("GET", "/healthz/x"),
        ("GET", "/docsx"),
        ("GET", "/api/v1/web/live"),
    ]:
        assert not is_public(method, path), (method, path)
    assert is_public("HEAD", "/healthz")
