"""Lanes: the requests that carry the load — observation writes, reports from apps' forms —
served ahead of FastAPI's middleware stack.

Each Starlette middleware layer (error catching, telemetry, body limits, compression, the
router's matching) costs every request that passes through it. A lane takes exactly the
requests its gate serves, through the same security headers and request guard as the rest, and
keeps the one thing the stack gave them: an unexpected error is logged under an id and answered
with a problem (500) that names only the id (with the security headers, as every answer).
"""

from __future__ import annotations

from collections.abc import Callable

from tocsin.api.asgi import ASGIApp, Message, Receive, Scope, Send
from tocsin.api.headers import SecurityHeaders
from tocsin.api.problems import internal_error


class Lane:
    """The requests `takes` accepts, served by `app`."""

    def __init__(self, app: ASGIApp, *, takes: Callable[[Scope], bool]) -> None:
        self.app = app
        self.takes = takes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as err:
            if started:  # part of an answer is out: the server closes the connection
                raise
            answer = internal_error(scope.get("method", ""), scope.get("path", ""), err)
            await SecurityHeaders(answer)(scope, receive, send)


def posts_to(paths: frozenset[str]) -> Callable[[Scope], bool]:
    """A lane's test: an HTTP POST to one of `paths`."""

    def takes(scope: Scope) -> bool:
        return scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in paths

    return takes
