"""The security headers on every response: pages, files, API answers, errors of every kind."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.web.conftest import small_container
from tocsin.web.app import create_web_app

REQUIRED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


def test_every_response_carries_the_security_headers(tmp_path: Path) -> None:
    container, token = small_container(tmp_path)
    auth = {"Authorization": f"Bearer {token}"}
    client = TestClient(create_web_app(container, risk=None))
    answers = [
        client.get("/"),
        client.get("/static/js/api.js"),
        client.get("/vendor/leaflet/leaflet.js"),
        client.get("/openapi.json"),
        client.get("/docs"),
        client.get("/healthz"),
        client.get("/api/v1/warnings"),  # 401
        client.get("/api/v1/warnings", headers=auth),
        client.get("/api/v1/warnings/nope", headers=auth),  # 404
        client.get("/api/v1/warnings?level=purple", headers=auth),  # 422
        client.get("/no/such/path", headers=auth),  # 404 from the router
        client.post(
            "/api/v1/observations",
            content=b"x" * 10,
            headers={**auth, "Content-Length": "99999999999"},
        ),  # 413
    ]
    for response in answers:
        for name, value in REQUIRED.items():
            assert response.headers.get(name) == value, (response.request.url, name)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "object-src 'none'" in csp
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "strict-transport-security" not in answers[0].headers  # plain HTTP here
    over_tls = TestClient(create_web_app(container, risk=None), base_url="https://testserver")
    assert over_tls.get("/healthz").headers["strict-transport-security"].startswith("max-age=")
    docs_csp = answers[4].headers["content-security-policy"]
    assert "'sha256-" in docs_csp  # the reference page's one inline script, by its hash
    container.close()
