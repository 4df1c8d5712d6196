"""OpenID Connect sign-in against a local identity provider the test starts (a small FastAPI
issuer on a loopback port: discovery, authorization with PKCE, token endpoint, signed ID tokens,
JWKS): the code flow opens a Tocsin session; a wrong state, an unknown user, a token signed by
another key, a replayed code and a wrong PKCE verifier are refused."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.api.conftest import Api, assert_problem, serve_api
from tocsin.core.users import Role
from tocsin.web.server import serving

CLIENT_ID, CLIENT_SECRET = "tocsin", "s3cret-of-the-client"


@dataclass
class Issuer:
    """The identity provider's state: who signs in, codes given, what it saw."""

    url: str = ""
    user: str = "ana"
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    signer: RSAKey | None = None  # another key to sign with (a forged token)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    seen: list[dict[str, str]] = field(default_factory=list)


def issuer_app(issuer: Issuer) -> FastAPI:
    app = FastAPI()

    @app.get("/.well-known/openid-configuration")
    def discovery() -> dict[str, Any]:
        return {
            "issuer": issuer.url,
            "authorization_endpoint": issuer.url + "/authorize",
            "token_endpoint": issuer.url + "/token",
            "jwks_uri": issuer.url + "/jwks",
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
        }

    @app.get("/jwks")
    def jwks() -> dict[str, Any]:
        return {"keys": [issuer.key.as_dict(private=False)]}

    @app.get("/authorize")
    def authorize(
        response_type: str,
        client_id: str,
        redirect_uri: str,
        state: str,
        nonce: str,
        code_challenge: str,
        code_challenge_method: str,
        scope: str,
    ) -> RedirectResponse:
        issuer.seen.append({"challenge_method": code_challenge_method, "scope": scope})
        if response_type != "code" or client_id != CLIENT_ID or code_challenge_method != "S256":
            raise HTTPException(400, "bad request")
        code = secrets.token_urlsafe(16)
        issuer.codes[code] = {"challenge": code_challenge, "nonce": nonce, "redirect": redirect_uri}
        return RedirectResponse(f"{redirect_uri}?code={code}&state={state}", status_code=302)

    @app.post("/token")
    async def token(request: Request) -> Any:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        grant_type, code = form.get("grant_type"), form.get("code", "")
        code_verifier, redirect_uri = form.get("code_verifier", ""), form.get("redirect_uri")
        authorization = request.headers.get("authorization", "")
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != f"Basic {basic}" or grant_type != "authorization_code":
            return JSONResponse({"error": "invalid_client"}, 401)
        given = issuer.codes.pop(code, None)  # a code is good once
        if given is None or given["redirect"] != redirect_uri:
            return JSONResponse({"error": "invalid_grant"}, 400)
        digest = hashlib.sha256(code_verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != given["challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        now = int(time.time())
        claims = {
            "iss": issuer.url,
            "aud": CLIENT_ID,
            "sub": "u-1",
            "iat": now,
            "exp": now + 300,
            "nonce": given["nonce"],
            "preferred_username": issuer.user,
        }
        signer = issuer.signer or issuer.key
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, signer)
        return {
            "access_token": "at",
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }

    return app


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    state = Issuer()
    with serving(issuer_app(state)) as url:
        state.url = url
        yield state


@pytest.fixture
def tocsin(sqlite_url: str, tmp_path: Path, issuer: Issuer) -> Iterator[Api]:
    settings = {
        "oidc_issuer": issuer.url,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
    }
    with serve_api(sqlite_url, tmp_path, **settings) as api:
        api.container.admin.add_user("ana", Role.ANALYST, unit="P1-CP", actor="test")
        yield api


def _start(api: Api) -> str:
    started = api.anonymous.get("/api/v1/session/oidc", follow_redirects=False)
    assert started.status_code == 302, started.text
    assert "tocsin_oidc=" in started.headers["set-cookie"]
    return started.headers["location"]


def _at_issuer(location: str) -> tuple[str, dict[str, list[str]]]:
    import httpx

    answer = httpx.get(location, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    back = answer.headers["location"]
    return back, parse_qs(urlsplit(back).query)


def test_the_code_flow_with_pkce_opens_a_session(tocsin: Api, issuer: Issuer) -> None:
    location = _start(tocsin)
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"]
    assert "code_verifier" not in query  # only the challenge travels through the browser
    back, _ = _at_issuer(location)
    assert urlsplit(back).path == "/api/v1/session/oidc/callback"
    done = tocsin.anonymous.get(back.replace("http://testserver", ""), follow_redirects=False)
    assert done.status_code == 302, done.text
    assert done.headers["location"] == "/"
    who = tocsin.anonymous.get("/api/v1/session").json()
    assert (who["user"], who["unit"], who["via"]) == ("ana", "P1-CP", "session")
    assert issuer.seen == [{"challenge_method": "S256", "scope": "openid profile email"}]
    # the same code again (a replay) is refused by the provider, and so here
    tocsin.anonymous.cookies.clear()
    _start(tocsin)
    replay = tocsin.anonymous.get(back.replace("http://testserver", ""), follow_redirects=False)
    assert_problem(replay, 401, [])


def test_a_wrong_state_is_refused(tocsin: Api) -> None:
    _, params = _at_issuer(_start(tocsin))
    forged = f"/api/v1/session/oidc/callback?code={params['code'][0]}&state=forged"
    assert_problem(tocsin.anonymous.get(forged, follow_redirects=False), 401, [])
    assert tocsin.anonymous.get("/api/v1/session").status_code == 401


def test_a_callback_not_started_here_is_refused(tocsin: Api) -> None:
    back, _ = _at_issuer(_start(tocsin))
    tocsin.anonymous.cookies.clear()  # another browser: no sealed attempt
    refused = tocsin.anonymous.get(back.replace("http://testserver", ""), follow_redirects=False)
    assert "not started here" in assert_problem(refused, 401, [])["detail"]


def test_a_user_tocsin_does_not_know_is_refused(tocsin: Api, issuer: Issuer) -> None:
    issuer.user = "stranger"
    back, _ = _at_issuer(_start(tocsin))
    refused = tocsin.anonymous.get(back.replace("http://testserver", ""), follow_redirects=False)
    assert "is no Tocsin user" in assert_problem(refused, 401, [])["detail"]


def test_an_id_token_signed_by_another_key_is_refused(tocsin: Api, issuer: Issuer) -> None:
    issuer.signer = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    back, _ = _at_issuer(_start(tocsin))
    refused = tocsin.anonymous.get(back.replace("http://testserver", ""), follow_redirects=False)
    assert "ID token is not valid" in assert_problem(refused, 401, [])["detail"]


def test_a_wrong_pkce_verifier_is_refused_by_the_provider(tocsin: Api, issuer: Issuer) -> None:
    back, _ = _at_issuer(_start(tocsin))
    for given in issuer.codes.values():
        given["challenge"] = "not-the-challenge"
    refused = tocsin.anonymous.get(back.replace("http://testserver", ""), follow_redirects=False)
    assert "refused the code" in assert_problem(refused, 401, [])["detail"]


def test_without_a_provider_the_route_says_so(api: Api) -> None:
    missing = api.anonymous.get("/api/v1/session/oidc", follow_redirects=False)
    assert "not configured" in assert_problem(missing, 404, [])["detail"]
