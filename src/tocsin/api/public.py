"""The endpoints anyone may call without signing in, declared one by one, each with its reason.

Tocsin is private by default: every other request needs a principal (an API token or a signed-in
session), checked before routing (`tocsin.api.limits`), unless a deployment opens its reads on
purpose (`TOCSIN_OPEN_READS`). A new public endpoint (the public alert feed and pages, the report
intake) is a new line here, and `tests/api/test_public_routes.py` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PublicRoute:
    """A method and path (or path prefix, for mounted files) served without credentials."""

    method: str
    path: str
    why: str
    prefix: bool = False

    def matches(self, method: str, path: str) -> bool:
        """True when the request is this route (HEAD counts as GET)."""
        if (method if method != "HEAD" else "GET") != self.method:
            return False
        return path.startswith(self.path) if self.prefix else path == self.path


PUBLIC_ROUTES: tuple[PublicRoute, ...] = (
    PublicRoute("GET", "/healthz", "liveness for load balancers: only 'ok' and the version"),
    PublicRoute("GET", "/ping", "InfluxDB 1.x's ping, which its clients ask before a write: 204"),
    PublicRoute("GET", "/", "the dashboard's page: a shell without data that signs in first"),
    PublicRoute("GET", "/favicon.ico", "the dashboard's icon"),
    PublicRoute("GET", "/static/", "the dashboard's own scripts and styles", prefix=True),
    PublicRoute("GET", "/vendor/", "Leaflet and plotly.js from their packages", prefix=True),
    PublicRoute("GET", "/openapi.json", "the API's description (no data)"),
    PublicRoute("GET", "/docs", "the API's reference page (no data)"),
    PublicRoute("GET", "/docs/assets/", "the reference page's Swagger UI files", prefix=True),
    PublicRoute("POST", "/api/v1/session", "signing in (rate limited)"),
    PublicRoute("GET", "/api/v1/session/oidc", "signing in with the identity provider"),
    PublicRoute("GET", "/api/v1/session/oidc/callback", "the identity provider's answer"),
    PublicRoute("GET", "/cap/", "public alerts: the page listing those in force, with a map"),
    PublicRoute("GET", "/cap/feed.atom", "public alerts: the Atom feed of those in force"),
    PublicRoute("GET", "/cap/offline.js", "public alerts: the page's offline copy (its worker)"),
    PublicRoute(
        "GET",
        "/cap/",
        "public alerts: each published CAP document, /cap/{identifier}.xml (nothing else is "
        "served under /cap/)",
        prefix=True,
    ),
    PublicRoute("GET", "/report", "public hazard reports: the page to send one and follow it"),
    PublicRoute(
        "GET",
        "/report/unsubscribe",
        "public hazard reports: the page that stops a reporter's e-mails (token in the link, "
        "rate limited)",
    ),
    PublicRoute(
        "POST",
        "/report/unsubscribe",
        "public hazard reports: stopping a reporter's e-mails (token in the form, rate limited)",
    ),
    PublicRoute(
        "GET", "/api/v1/public/reports/", "public hazard reports: one's public status", prefix=True
    ),
    PublicRoute(
        "GET",
        "/api/v1/public/regions.geojson",
        "public hazard reports: the smallest regions' outlines the report page draws",
    ),
    PublicRoute(
        "GET",
        "/open311/v2/",
        "Open311 GeoReport v2: services, definitions and requests as the public sees them",
        prefix=True,
    ),
    PublicRoute(
        "POST",
        "/open311/v2/",
        "Open311 GeoReport v2: a report sent by an app with its own api_key (rate limited)",
        prefix=True,
    ),
)


def is_public(method: str, path: str) -> bool:
    """True when the request needs no credentials."""
    return any(route.matches(method, path) for route in PUBLIC_ROUTES)
