"""Security headers on every response: pages, API answers, errors and files alike.

A pure ASGI middleware that adds the headers a response does not already set: the content
security policy (a page with its own, such as the API reference page with its inline start-up
script, keeps it), no MIME sniffing, no referrer, no framing, an isolated browsing context, no
powerful browser features, and HSTS where the request came over TLS.
"""

from __future__ import annotations

from typing import Final

from tocsin.api.asgi import ASGIApp, Message, Receive, Scope, Send

# plotly.js compiles expressions with Function(), hence 'unsafe-eval'; the level colours are one
# inline <style> element; nothing loads from another origin
CSP: Final = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-eval'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS: Final = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
HSTS: Final = ("strict-transport-security", "max-age=31536000; includeSubDomains")


class SecurityHeaders:
    """Adds `HEADERS` (and HSTS over TLS) to every HTTP response that lacks them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = dict(HEADERS)
        if scope.get("scheme") == "https":
            extra[HSTS[0]] = HSTS[1]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {bytes(k).lower() for k, _ in message.get("headers", ())}
                added = [
                    (k.encode(), v.encode()) for k, v in extra.items() if k.encode() not in present
                ]
                message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        await self.app(scope, receive, with_headers)
