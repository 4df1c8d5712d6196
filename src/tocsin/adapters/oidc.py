"""OpenID Connect sign-in (authorization code flow with PKCE) against an agency's identity
provider: Authlib's OAuth 2.0 client for the redirect and the code exchange, joserfc (Authlib's
JOSE library) to check the ID token's signature against the provider's published keys and its
claims (issuer, audience, expiry, nonce).

The provider is found from its issuer URL (`/.well-known/openid-configuration`, OpenID Connect
Discovery 1.0); the user is the Tocsin user named by a claim of the ID token
(`TOCSIN_OIDC_USER_CLAIM`, `preferred_username` by default) and must exist in Tocsin.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tocsin.core.errors import Unauthenticated, Unavailable

ALGORITHMS = ("RS256", "ES256", "PS256", "EdDSA")


@dataclass(frozen=True, slots=True)
class Attempt:
    """What the browser carries between the redirect and the callback (sealed in a cookie)."""

    state: str
    nonce: str
    verifier: str


@dataclass(frozen=True)
class OidcClient:
    """One identity provider, one client registration."""

    issuer: str
    client_id: str
    client_secret: str | None
    user_claim: str = "preferred_username"
    timeout_s: float = 10.0

    def discovery(self) -> dict[str, Any]:
        """The provider's metadata (fetched once per process)."""
        with _lock:
            if self.issuer not in _discovered:
                url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
                _discovered[self.issuer] = _get_json(url, self.timeout_s)
            return _discovered[self.issuer]

    def start(self, redirect_uri: str) -> tuple[str, Attempt]:
        """The provider's authorization URL to send the browser to, and what to remember."""
        attempt = Attempt(generate_token(32), generate_token(32), generate_token(64))
        client = OAuth2Client(
            self.client_id, scope="openid profile email", redirect_uri=redirect_uri
        )
        url, _ = client.create_authorization_url(
            self.discovery()["authorization_endpoint"],
            state=attempt.state,
            nonce=attempt.nonce,
            code_challenge=create_s256_code_challenge(attempt.verifier),
            code_challenge_method="S256",
        )
        client.close()
        return url, attempt

    def finish(self, *, code: str, state: str, attempt: Attempt, redirect_uri: str) -> str:
        """Exchange the code (with the PKCE verifier), check the ID token, and return the user
        name it vouches for (Unauthenticated when anything does not hold)."""
        if state != attempt.state:
            raise Unauthenticated("the sign-in's state does not match: start it again")
        meta = self.discovery()
        client = OAuth2Client(
            self.client_id,
            self.client_secret,
            redirect_uri=redirect_uri,
            timeout=self.timeout_s,
            token_endpoint_auth_method="client_secret_basic" if self.client_secret else "none",
        )
        try:
            token = client.fetch_token(
                meta["token_endpoint"], code=code, code_verifier=attempt.verifier
            )
        except Exception as err:  # the provider's refusal, in whatever form Authlib raises it
            raise Unauthenticated(f"the identity provider refused the code: {err}") from err
        finally:
            client.close()
        id_token = token.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise Unauthenticated("the identity provider gave no ID token")
        return self._user(id_token, meta, nonce=attempt.nonce)

    def _user(self, id_token: str, meta: dict[str, Any], *, nonce: str) -> str:
        published: Any = _get_json(meta["jwks_uri"], self.timeout_s)
        try:
            keys = KeySet.import_key_set(published)
        except (JoseError, ValueError, KeyError) as err:
            raise Unavailable(f"the identity provider's keys cannot be read: {err}") from err
        try:
            claims = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS)).claims
            jwt.JWTClaimsRegistry(
                now=int(time.time()),
                leeway=60,
                iss={"essential": True, "value": meta.get("issuer", self.issuer)},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(claims)
        except (JoseError, ValueError) as err:
            raise Unauthenticated(f"the identity provider's ID token is not valid: {err}") from err
        name = claims.get(self.user_claim)
        if not isinstance(name, str) or not name:
            raise Unauthenticated(f"the ID token names no user (claim {self.user_claim!r})")
        return name


_discovered: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()


def _get_json(url: str, timeout_s: float) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=timeout_s)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
    except (httpx.HTTPError, ValueError) as err:
        raise Unavailable(f"the identity provider cannot be reached at {url}: {err}") from err
    return body
