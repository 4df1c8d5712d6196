"""The REST API (FastAPI; OpenAPI 3.1 at /openapi.json, its reference page at /docs).

Each concept has its router module; this module only assembles them, installs the problem
handlers, the body guard (authentication before the body, a size limit) and the offline
reference page, and states in the OpenAPI document which operations need a token.
"""

from __future__ import annotations

from functools import cache, partial
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute

from tocsin import __version__
from tocsin.api import (
    alert_receiver,
    alertmanager,
    cap_imports,
    cap_public,
    catalog,
    events,
    exposure,
    incidents,
    influx,
    notifications,
    observations,
    oidc,
    open311,
    operations,
    public_alerts,
    report_unsubscribe,
    reports,
    session,
    silences,
    situation,
    sources,
    tasks,
    tokens,
    warnings,
)
from tocsin.api.asgi import ASGIApp, Receive, Scope, Send
from tocsin.api.docs import install_docs
from tocsin.api.headers import SecurityHeaders
from tocsin.api.influx import ErrorMember
from tocsin.api.ingest_gate import IngestGate
from tocsin.api.lanes import Lane, posts_to
from tocsin.api.limits import GuardLimits, RequestGuard
from tocsin.api.problems import DESCRIPTIONS, install_handlers
from tocsin.api.report_gate import ReportGate, report_form
from tocsin.api.write_routes import write_routes
from tocsin.bootstrap import Container

TITLE = "Tocsin"
DESCRIPTION = (
    "All-hazards risk monitoring and early warning. Every request needs `Authorization: Bearer "
    "TOKEN` or a signed-in session (cookie, with `X-CSRF-Token` on writes), except the few "
    "public ones (liveness, sign-in, this description). No or a bad credential: 401; a "
    "permission the token or role lacks, or a resource outside the user's unit's regions and "
    "domains: 403 with the reason; lists show only what is in scope. Bodies over "
    "`TOCSIN_MAX_BODY_BYTES`: 413. A database that cannot be used, or a standby server asked "
    "to ingest: 503 with `Retry-After`. Every error has the same body: "
    "`{detail, problems: [{where, field, reason}]}`."
)
UNAVAILABLE: dict[str, Any] = {
    "description": DESCRIPTIONS[503],
    "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}},
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
# FastAPI tries the routes in this order, one after the other (about 1.5 µs each): first the
# probes and the alert receiver, then the dashboard's reads, then the public routes, then the
# rest; no two routers hold the same path and method, so the order decides no match
ROUTERS = (
    operations,
    influx,
    alert_receiver,
    alertmanager,
    observations,
    events,
    warnings,
    catalog,
    open311,
    cap_public,
    report_unsubscribe,
    silences,
    notifications,
    public_alerts,
    cap_imports,
    incidents,
    tasks,
    situation,
    session,
    oidc,
    tokens,
    sources,
    exposure,
    reports,
)


@cache
def api_routes() -> tuple[BaseRoute, ...]:
    """Every API route, built once per process. A route holds no state of its own: handlers
    find the container, and anything per app (a rate), through the request's app. Building
    them (a pydantic model for each parameter and response) is what made an app slow to
    create: about 0.4 s.

    The routes are the routers' own, each with its router's tags, dependencies and responses
    already applied: an app holds them directly, not through `include_router`, whose wrapper
    (FastAPI 0.165) matched a request against its routes twice with a costly step for each
    (the routing of a request took 18–200 µs, about half of that)."""
    return tuple(route for module in ROUTERS for route in module.router().routes)


class TocsinAPI(FastAPI):
    """FastAPI, with the requests that carry the load taken into lanes ahead of FastAPI's
    middleware stack (`tocsin.api.lanes`): observation writes, and form-encoded reports."""

    lanes: tuple[Lane, ...] = ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        for lane in self.lanes:
            if lane.takes(scope):
                scope["app"] = self
                await lane(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(container: Container) -> FastAPI:
    """Build the API over a wired container."""
    app = TocsinAPI(
        title=TITLE,
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        # Tocsin exports its own metrics (/metrics) and configures no OpenTelemetry provider;
        # FastAPI's native telemetry otherwise asks the global providers on every request
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.container = container
    install_handlers(app, http_errors_under={f"{open311.BASE}/": open311.framework_error})
    app.router.routes.extend(api_routes())
    install_docs(app, title=TITLE)
    settings = container.settings
    routes = write_routes(container)
    # observation writes and reports from apps' forms take lanes of their own (lanes.py); a
    # gate's fallback, the application, is never reached: a lane takes exactly the requests
    # its gate serves
    limits = GuardLimits(container)  # one set of rates for all the guards
    guarded = {path: route.schemes for path, route in routes.items()}
    application = partial(FastAPI.__call__, app)
    # the lanes' guards and the application's are alike: same body limit, same streamed writes
    guarded_by = partial(
        RequestGuard,
        container=container,
        max_body_bytes=settings.max_body_bytes,
        streamed=guarded,
        limits=limits,
    )

    def guard(gate: ASGIApp) -> ASGIApp:
        return SecurityHeaders(guarded_by(gate))

    writes = IngestGate(
        application,
        container=container,
        routes=routes,
        max_body_bytes=settings.max_body_bytes,
        max_inflight=settings.ingest_max_inflight,
    )
    reports_gate = ReportGate(application, container=container)
    influx_errors = [path for path, route in routes.items() if route.error_member]
    app.lanes = (
        Lane(ErrorMember(guard(writes), paths=influx_errors), takes=posts_to(frozenset(routes))),
        Lane(guard(reports_gate), takes=lambda scope: report_form(scope) is not None),
    )
    # every request authenticated before routing or a byte of body
    app.add_middleware(guarded_by)
    app.add_middleware(SecurityHeaders)  # outermost: every response, errors included
    reads_open = container.settings.open_reads
    app.openapi = lambda: _openapi(app, reads_open=reads_open)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI, *, reads_open: bool) -> dict[str, Any]:
    """FastAPI's document, with reads marked as open (security optional) where a deployment
    opened them."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    app.openapi_schema = None
    doc = FastAPI.openapi(app)
    for item in doc.get("paths", {}).values():  # any operation may meet a database fault
        for operation in item.values():
            operation.setdefault("responses", {}).setdefault("503", UNAVAILABLE)
    if reads_open:
        for item in doc.get("paths", {}).values():
            get = item.get("get")
            if get is not None and get.get("security"):
                get["security"] = [*get["security"], {}]
    app.openapi_schema = doc
    return doc
