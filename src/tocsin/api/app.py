"""The REST API (FastAPI; OpenAPI 3.1 at /openapi.json, its reference page at /docs).

Each concept has its router module; this module only assembles them, installs the problem
handlers, the body guard (authentication before the body, a size limit) and the offline
reference page, and states in the OpenAPI document which operations need a token.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tocsin import __version__
from tocsin.api import (
    alert_receiver,
    catalog,
    events,
    notifications,
    observations,
    operations,
    silences,
    sources,
    warnings,
)
from tocsin.api.docs import install_docs
from tocsin.api.ingest_gate import IngestGate
from tocsin.api.limits import BodyGuard
from tocsin.api.problems import install_handlers
from tocsin.api.write_routes import write_routes
from tocsin.bootstrap import Container

TITLE = "Tocsin"
DESCRIPTION = (
    "All-hazards risk monitoring and early warning. Writes need `Authorization: Bearer TOKEN`; "
    "reads need it too where the server sets `TOCSIN_REQUIRE_TOKEN_FOR_READS`. No or a bad "
    "token: 401; a role that may not: 403. Bodies over `TOCSIN_MAX_BODY_BYTES`: 413. Every "
    "error has the same body: `{detail, problems: [{where, field, reason}]}`."
)
ROUTERS = (
    observations,
    events,
    warnings,
    catalog,
    silences,
    notifications,
    alert_receiver,
    operations,
    sources,
)


def create_app(container: Container) -> FastAPI:
    """Build the API over a wired container."""
    app = FastAPI(
        title=TITLE,
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.container = container
    install_handlers(app)
    for module in ROUTERS:
        app.include_router(module.router())
    install_docs(app, title=TITLE)
    settings = container.settings
    app.add_middleware(BodyGuard, container=container, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(
        IngestGate,
        container=container,
        routes=write_routes(container),
        max_body_bytes=settings.max_body_bytes,
        max_inflight=settings.ingest_max_inflight,
    )
    reads_open = not container.settings.require_token_for_reads
    app.openapi = lambda: _openapi(app, reads_open=reads_open)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI, *, reads_open: bool) -> dict[str, Any]:
    """FastAPI's document, with reads marked as open (security optional) where they are."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    app.openapi_schema = None
    doc = FastAPI.openapi(app)
    if reads_open:
        for item in doc.get("paths", {}).values():
            get = item.get("get")
            if get is not None and get.get("security"):
                get["security"] = [*get["security"], {}]
    app.openapi_schema = doc
    return doc
