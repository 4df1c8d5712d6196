"""Sign-in with the agency's identity provider (OpenID Connect, code flow with PKCE):
`GET /api/v1/session/oidc` sends the browser to the provider; the provider sends it back to
`/api/v1/session/oidc/callback`, which opens a session for the Tocsin user the ID token names and
returns to the dashboard. What the browser carries in between (state, nonce, PKCE verifier) is
sealed in a short-lived HttpOnly cookie. Configured by `TOCSIN_OIDC_*` (off when unset)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse

from tocsin.adapters.oidc import Attempt, OidcClient
from tocsin.adapters.storage.sealing import PREFIX, current_sealer
from tocsin.api.auth import container_of
from tocsin.api.problems import responses
from tocsin.api.session import set_cookie
from tocsin.core.errors import NotFound, Unauthenticated

ATTEMPT_COOKIE = "tocsin_oidc"
CALLBACK = "/api/v1/session/oidc/callback"
Param = Annotated[str, Query(min_length=1, max_length=4096)]


def client_of(request: Request) -> OidcClient:
    """The configured identity provider (NotFound when none is)."""
    settings = container_of(request).settings
    if not settings.oidc_issuer or not settings.oidc_client_id:
        raise NotFound("sign-in with an identity provider is not configured (TOCSIN_OIDC_*)")
    secret = settings.oidc_client_secret
    return OidcClient(
        settings.oidc_issuer,
        settings.oidc_client_id,
        secret.get_secret_value() if secret else None,
        settings.oidc_user_claim,
    )


def _callback_url(request: Request) -> str:
    configured = container_of(request).settings.oidc_redirect_url
    return configured or str(request.url_for("oidc_callback"))


def router() -> APIRouter:
    """The identity provider's two routes."""
    api = APIRouter(tags=["session"])

    @api.get(
        "/api/v1/session/oidc",
        response_class=RedirectResponse,
        status_code=302,
        responses=responses(404),
    )
    def oidc_start(request: Request) -> RedirectResponse:
        """Go to the identity provider to sign in."""
        url, attempt = client_of(request).start(_callback_url(request))
        sealed = current_sealer().seal(json.dumps([attempt.state, attempt.nonce, attempt.verifier]))
        response = RedirectResponse(url, status_code=302)
        response.set_cookie(
            ATTEMPT_COOKIE, sealed, max_age=600, httponly=True, samesite="lax", path=CALLBACK
        )
        return response

    @api.get(
        CALLBACK,
        name="oidc_callback",
        response_class=RedirectResponse,
        status_code=302,
        responses=responses(401, 404, 422),
    )
    def oidc_callback(code: Param, state: Param, request: Request) -> RedirectResponse:
        """The identity provider's answer: open a session and go to the dashboard."""
        client = client_of(request)
        attempt = _attempt(request.cookies.get(ATTEMPT_COOKIE))
        name = client.finish(
            code=code, state=state, attempt=attempt, redirect_uri=_callback_url(request)
        )
        session = container_of(request).sign_in.with_identity(name)
        response = RedirectResponse("/", status_code=302)
        set_cookie(request, response, session)
        response.delete_cookie(ATTEMPT_COOKIE, path=CALLBACK)
        return response

    return api


def _attempt(sealed: str | None) -> Attempt:
    """The attempt the browser carried back (Unauthenticated if it is missing or forged)."""
    again = "the sign-in was not started here (or took too long): start it again"
    if not sealed or not sealed.startswith(PREFIX):
        raise Unauthenticated(again)
    try:
        state, nonce, verifier = json.loads(current_sealer().unseal(sealed))
    except Exception as err:  # not sealed with our key, or not ours: start again
        raise Unauthenticated(again) from err
    return Attempt(str(state), str(nonce), str(verifier))
