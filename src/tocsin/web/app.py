"""The web application: the REST API plus the operations dashboard."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from tocsin.api.app import create_app
from tocsin.bootstrap import Container


def create_web_app(container: Container) -> FastAPI:
    """The API with the dashboard mounted at /."""
    app = create_app(container)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    return app
