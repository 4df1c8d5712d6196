"""The API's reference page `/docs`, served with no internet.

Swagger UI's browser code comes from the installed `swagger-ui-bundle-v2` wheel (the Connexion
project's packaging of the Swagger UI release), mounted under `/docs/assets/`; nothing is copied
into the repository and the page loads nothing from a CDN.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
SWAGGER_PARAMETERS = {
    "validatorUrl": None,  # the default would ask validator.swagger.io about the document
    "persistAuthorization": True,
    "tryItOutEnabled": False,
}


def swagger_ui_dir() -> Path:
    """Where the installed swagger-ui-bundle keeps swagger-ui-bundle.js and swagger-ui.css."""
    from swagger_ui_bundle import swagger_ui_path

    return Path(str(swagger_ui_path))


def install_docs(app: FastAPI, *, title: str) -> None:
    """Serve Swagger UI at /docs from the package's files."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_dir()), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} — API reference",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )
        return HTMLResponse(page.body, headers={"Content-Security-Policy": page_csp(page.body)})


INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def page_csp(html: bytes | memoryview) -> str:
    """The reference page's policy: its files from here, and its one inline start-up script
    allowed by its hash (no other inline script runs)."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode() + "'"
        for m in INLINE_SCRIPT.finditer(bytes(html))
    )
    return (
        f"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        f"script-src 'self' {hashes}; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'"
    )
