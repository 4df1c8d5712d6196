"""The web application: the REST API plus the operations dashboard, served with no internet.

Third-party browser code is served from the installed Python packages at run time, never copied
into the repository: Leaflet from `xstatic-leaflet` (under /vendor/leaflet/) and plotly.js from
the `plotly` wheel's `package_data` (at /vendor/plotly.min.js).
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from tocsin.api.app import create_app
from tocsin.api.catalog import levels_out
from tocsin.bootstrap import Container
from tocsin.core.access import Placement, system_principal
from tocsin.core.errors import NotFound
from tocsin.services.background import start_background
from tocsin.services.warnings import warning_place
from tocsin.web import exposure, live, public_page, views
from tocsin.web.risk import RiskLoader, RiskSources, default_sources
from tocsin.web.sources import start_sources

STATIC = Path(__file__).parent / "static"
LEVELS_MARK = "<!-- levels -->"
KEY_MARK = "<!-- open311-key -->"
VENDOR_CACHE = "public, max-age=86400"
REPORT_CSP = (  # the public report page: its own scripts, the map drawn locally, no third party
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-eval'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def leaflet_dir() -> Path:
    """Where the installed xstatic-leaflet package keeps leaflet.js, leaflet.css and images/."""
    import xstatic.pkg.leaflet as leaflet

    return Path(leaflet.BASE_DIR)


def plotly_js() -> Path:
    """The plotly.min.js bundled in the installed plotly wheel."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def level_styles() -> str:
    """The level table for the page: JSON for the scripts, CSS custom properties for the styles.

    `.lvl-<level>` sets `--lvl` (its colour) and `--lvl-ink` (text on it); the style sheet uses
    only those, so `tocsin.core.levels` is the one place a level's colour is written.
    """
    table = levels_out()
    none = table.none_colour
    rules = [f":root{{--lvl-none:{none}}}.lvl-none{{--lvl:{none};--lvl-ink:var(--muted)}}"]
    rules += [
        f".lvl-{s.level.value}{{--lvl:{s.colour};--lvl-ink:{s.text_colour}}}" for s in table.levels
    ]
    data = table.model_dump_json().replace("</", "<\\/")
    return (
        f'<script id="tocsin-levels" type="application/json">{data}</script>\n'
        f"<style>{''.join(rules)}</style>"
    )


def dashboard_page() -> str:
    """index.html with the level table put in (read once per app)."""
    text = (STATIC / "index.html").read_text(encoding="utf-8")
    if LEVELS_MARK not in text:
        raise RuntimeError(f"index.html lacks the {LEVELS_MARK} mark")
    return text.replace(LEVELS_MARK, level_styles())


def report_page(container: Container) -> str:
    """report.html with the public page's Open311 key put in (none: the page says reporting is
    not enabled). The key is public by nature; the per-address rate limit guards it."""
    text = (STATIC / "report.html").read_text(encoding="utf-8")
    key = container.settings.open311_web_key
    meta = (
        f'<meta name="open311-key" content="{html.escape(key.get_secret_value())}">' if key else ""
    )
    return text.replace(KEY_MARK, meta)


def create_web_app(
    container: Container,
    *,
    risk: RiskSources | Literal["default"] | None = "default",
    live_max_stream_for: float = 60.0,
    live_burst: int = live.BURST,
) -> FastAPI:
    """The API with the dashboard at / and its live event stream.

    `risk` names the composite risk model shown in the risk view and on the map ("default":
    the one the settings name, if any; None: no risk model, and the dashboard says so).
    `live_burst`: more stream messages than this waiting at once go out as one summary.
    """
    app = create_app(container)
    feed = live.LiveFeed(
        container.bus,
        locate=_locator(container),
        max_stream_for=live_max_stream_for,
        burst=live_burst,
    )
    loader = RiskLoader(default_sources(container.settings) if risk == "default" else risk)
    app.state.live = feed
    app.state.risk = loader

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        feed.attach()
        loader.start()
        # dispatch, delivery and the timers; the rules lease only where this process evaluates
        single = container.settings.role == "single"
        stop_pipeline = start_background(container, ingests=single)
        stop_sources = start_sources(container)  # collectors, the source-silent check
        try:
            yield
        finally:
            stop_sources()
            stop_pipeline()
            feed.detach()

    app.router.lifespan_context = lifespan

    page = dashboard_page()
    if container.settings.oidc_issuer and container.settings.oidc_client_id:
        page = page.replace('<p id="sign-in-oidc" hidden>', '<p id="sign-in-oidc">')

    app.include_router(views.make_router(container, loader))
    app.include_router(exposure.make_router(container))
    app.include_router(live.make_router(feed))
    app.include_router(public_page.make_router(container))
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/vendor/leaflet", StaticFiles(directory=leaflet_dir()), name="leaflet")

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_bundle() -> FileResponse:
        return FileResponse(
            plotly_js(), media_type="text/javascript", headers={"Cache-Control": VENDOR_CACHE}
        )

    @app.get("/", include_in_schema=False)
    def dashboard() -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    report_html = report_page(container)

    @app.get("/report", include_in_schema=False)
    def report() -> HTMLResponse:
        return HTMLResponse(
            report_html,
            headers={"Content-Security-Policy": REPORT_CSP, "Cache-Control": "no-cache"},
        )

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    return app


def _locator(container: Container) -> live.Locate:
    """Where a warning sits (for the live stream's scoped readers); None when it is gone."""
    system = system_principal("live")

    def locate(warning_id: str) -> Placement | None:
        try:
            return warning_place(container.warnings.get(warning_id, principal=system))
        except NotFound:
            return None

    return locate
